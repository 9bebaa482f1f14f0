"""A network partition between the operator and the API server, for fault tests: a TCP
forwarder the operator's kubeconfig points at, which refuses and cuts every connection while
a flag file exists (``python -m tests.support.partition LISTEN HOST PORT FLAG``)."""

from __future__ import annotations

import asyncio
import os
import sys

#: how often open connections are checked against the flag, in seconds
CUT_EVERY = 0.2


class Forwarder:
    def __init__(self, host: str, port: int, flag: str) -> None:
        self.host, self.port, self.flag = host, port, flag
        self.open: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    def cut(self) -> bool:
        return os.path.exists(self.flag)

    async def accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        if self.cut():
            client_out.close()
            return
        try:
            server_in, server_out = await asyncio.open_connection(self.host, self.port)
        except OSError:
            client_out.close()
            return
        pair = (client_out, server_out)
        self.open.add(pair)
        await asyncio.gather(_pipe(client_in, server_out), _pipe(server_in, client_out))
        self.open.discard(pair)

    async def cutter(self) -> None:
        while True:
            if self.cut():
                for pair in list(self.open):
                    for writer in pair:
                        writer.transport.abort()
            await asyncio.sleep(CUT_EVERY)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        sink.close()


async def main(listen: int, host: str, port: int, flag: str) -> None:
    forwarder = Forwarder(host, port, flag)
    server = await asyncio.start_server(forwarder.accept, "127.0.0.1", listen)
    cutter = asyncio.create_task(forwarder.cutter())
    async with server:
        await server.serve_forever()
    cutter.cancel()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]))
