"""A line-echo server on Python's asyncio event loop, as a benchmark peer.

The book the course follows takes this step after the busy loop: let an event loop wait for
readiness (selectors/epoll underneath) and write the server as coroutines. This is that server,
written for this workbook: read a line ending in "\\r\\n", send it back, for every client at once.

usage: python3 asyncio_echo.py [-q] [PORT]    (PORT: argument, else $PORT, else 8000)
"""
import asyncio
import os
import sys

MAX_LINE = 64 * 1024


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                line = await reader.readuntil(b"\r\n")
            except asyncio.IncompleteReadError:
                break  # the client hung up
            except asyncio.LimitOverrunError:
                writer.write(b"ERROR: linea demasiado larga\r\n")
                break
            writer.write(line)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(echo, "127.0.0.1", port, limit=MAX_LINE, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "-q"]
    port = int(args[0] if args else os.environ.get("PORT", "8000"))
    try:
        asyncio.run(main(port))
    except KeyboardInterrupt:
        pass
