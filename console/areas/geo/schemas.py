"""The geography area's query and answer: GET /api/v1/geo/locate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from console.lib.schemas import PlaceWarningOut
from dispatch import intake


class LocateQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(description="WGS84 latitude, -90 to 90")
    lon: float = Field(description="WGS84 longitude, -180 to 180")
    municipality: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Optional: the municipality the point is said to be in, by ISTAT code or"
        " exact name; a point elsewhere gets an outside_municipality warning",
    )

    @model_validator(mode="after")
    def a_point_on_earth(self) -> LocateQuery:
        problems = intake.coordinate_problems(self.lat, self.lon)
        if problems:
            raise ValidationError.from_exception_data(
                "LocateQuery",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(p.type, p.message), loc=(p.field,), input=None
                    )
                    for p in problems
                ],
            )
        return self


class MunicipalityOut(BaseModel):
    istat_code: str
    name: str


class ZoneOut(BaseModel):
    id: str = Field(description="The zona-distretto, as the municipalities table maps it")
    name: str


class Located(BaseModel):
    """Where a point lies. `municipality` and `zone` are null outside Tuscany."""

    lat: float
    lon: float
    inside_tuscany: bool = Field(description="Within one of Tuscany's 273 municipalities")
    municipality: MunicipalityOut | None
    zone: ZoneOut | None
    warnings: list[PlaceWarningOut] = Field(
        description="outside_tuscany (field query.lat), or outside_municipality (field"
        " query.municipality) when a stated municipality is given and the point lies in another;"
        " empty when all agree"
    )
