"""The smallest Django settings that run Channels with channels_redis (the usual Python way)."""

import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["channels"]
DATABASES: dict[str, object] = {}
USE_TZ = True
ASGI_APPLICATION = "bench.baselines.channels_app.asgi.application"
ROOT_URLCONF = "bench.baselines.channels_app.asgi"
urlpatterns: list[object] = []

# The default layer (Redis lists per channel, a Lua script per group send). Capacity as the
# console's per-socket queue (SEUS_WS_QUEUE, 1000): a consumer further behind loses messages,
# which the bench reports; expiry long enough that nothing expires within a run.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")],
            "prefix": os.environ.get("BENCH_CHANNELS_PREFIX", "asgi"),
            "capacity": 1000,
            "expiry": 600,
        },
    }
}
