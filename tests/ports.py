"""Free loopback ports for tests and benchmarks that start `codex` nodes (standard library only, so the benchmark
scripts can use it without the test virtualenv)."""
import random
import socket

# Ports handed out by `free_port` in this process: never handed out twice.
_handed_out = set()
_PORT_RANGE = (20000, 32000)  # below Linux's ephemeral range (32768-60999): no kernel-chosen port lands here


def free_port():
    """A port on 127.0.0.1, free for TCP and UDP a moment ago, that this process has not handed out before.

    It lies below the kernel's ephemeral range, so no `tcp/0` listener or outgoing connection of a node already
    running (which take ephemeral ports) can take it before the node it is meant for binds it."""
    low, high = _PORT_RANGE
    start = random.randrange(low, high)
    for k in range(high - low):
        port = low + (start - low + k) % (high - low)
        if port in _handed_out:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                t.bind(("127.0.0.1", port))
                u.bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{high}")
