"""The documents' non-blocking busy loop (section 2, "con try catch"), as a benchmark peer.

Written for this workbook so `make bench` can put Python next to C on the same work. It keeps
the documents' behaviour on purpose: a loop that never waits (one core at 100%), a buffer that
starts empty on every pass, and a "\\r\\n" check on the last two bytes only. Unlike the document
it forgets clients that hang up (otherwise a closed client floods the output forever).

usage: python3 busy_loop.py [PORT]      (PORT: argument, else $PORT, else 8000)
"""
import os
import socket
import sys

port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8000"))

server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_socket.bind(("127.0.0.1", port))
server_socket.listen(socket.SOMAXCONN)
server_socket.setblocking(False)

connections = []
try:
    while True:
        try:
            connection, client_address = server_socket.accept()
            connection.setblocking(False)
            print(f"Cliente connectandose desde {client_address}")
            connections.append(connection)
        except BlockingIOError:
            pass
        for connection in list(connections):
            try:
                buffer = b""
                while buffer[-2:] != b"\r\n":
                    data = connection.recv(2)
                    if not data:
                        break
                    print(f"Data leida: {data}")
                    buffer = buffer + data
                print(f"Toda la data leida: {buffer}")
                if not buffer:  # the client hung up
                    connections.remove(connection)
                    connection.close()
                    continue
                connection.send(buffer)
            except BlockingIOError:
                pass
            except OSError as error:  # reset, broken pipe: forget the client
                print(f"Cliente descartado: {error}", file=sys.stderr)
                connections.remove(connection)
                connection.close()
finally:
    server_socket.close()
