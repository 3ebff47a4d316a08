import socket

import pytest

from tests.conftest import NetworkAccessError


def test_tcp_connection_is_refused():
    with pytest.raises(NetworkAccessError):
        socket.create_connection(("127.0.0.1", 9))


def test_raw_socket_connect_is_refused():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NetworkAccessError):
            sock.connect(("127.0.0.1", 9))
    finally:
        sock.close()
