"""Container health probe: `python -m motcua.healthcheck` exits 0 when this service is ready.

The image has no curl; the service name comes from $SERVICE, its port as in motcua.serve.
"""
import sys
import urllib.request

from motcua.config import env, http_port

if __name__ == "__main__":
    service = env("SERVICE", "gateway")
    port = http_port(service)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as response:
            sys.exit(0 if response.status == 200 else 1)
    except OSError:
        sys.exit(1)
