"""`kb serve`: the HTTP API (app.py), its writer process (writer.py), the server (serve.py) and its
Ray Serve deployment (ray_serve.py). Needs the `api` extra: `pip install 'kb[api]'`."""
