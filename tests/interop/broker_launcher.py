"""The ocpp-broker backend of the interop tests: run by the interpreter of its own virtual environment
(`.venv-interop/ocpp-broker`, see install.sh), never imported by evsed or the tests.

`ocpp-broker-server` starts only the chargers' WebSocket server; its REST command API
(`/api/ocpp/organizations/<org>/chargers/<id>/commands/<Action>`) is a second app that the package's
`api_server.start_api` runs beside it. This starts both on the hosts and ports of the config file given
(the broker's own YAML format), as the package's `server.main_async` does for the first. The tag manager is
made before the API, which looks for it when it is built. Its log (stderr) is the package's: the `ocpp`
library logs every frame received ("receive message") and sent ("send") at INFO.
"""

import asyncio
import sys

import uvicorn
from ocpp_broker import api_server, server


async def main(config_path: str) -> None:
    broker = server.broker  # the instance the WebSocket endpoint hands chargers to
    broker._cfg_path = config_path
    await broker.load_config()
    for org in broker.config_data["organizations"]:
        await broker.ensure_org_initialized(org["name"])
    api, ws = broker.config_data["api"], broker.config_data["broker"]
    await api_server.start_api(broker, host=api["host"], port=api["port"])
    await uvicorn.Server(uvicorn.Config(server.app, host=ws["host"], port=ws["port"], log_level="info")).serve()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
