"""A first end-to-end check: an event posted through the API reaches a live socket."""

import websockets

from tests import support


async def test_a_room_message_reaches_an_operator_socket(start_console, people):
    console = start_console()
    async with console.client() as client:
        csrf = await support.log_in(client, people["operator"])
        async with websockets.connect(
            console.ws_url + "?after=0", additional_headers=support.ws_headers(console, client)
        ) as ws:
            assert (await support.recv_json(ws))["type"] == "hello"
            assert (await support.recv_json(ws))["type"] == "live"
            response = await client.post(
                "/api/v1/room/messages", json={"body": "prova"}, headers={"X-CSRF-Token": csrf}
            )
            assert response.status_code == 201
            message = await support.recv_json(ws)
            assert message["type"] == "event"
            assert message["event"]["payload"]["body"] == "prova"
            assert message["seq"] == response.json()["seq"]
