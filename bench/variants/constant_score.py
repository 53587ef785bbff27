"""The server's floor: an entry script that reads the body and answers a constant.

Same raw request access as our scorer (`@rawhttp`, so the server parses nothing), no model: what
azmlinfsrv (gunicorn sync worker + Flask + its request bookkeeping) costs per request by itself.
The body is read so that its transfer is part of the floor, and so the connection is not closed with
unread bytes in it (which would reset it before the client reads the response).
"""

from azureml_inference_server_http.api.aml_request import rawhttp
from azureml_inference_server_http.api.aml_response import AMLResponse

_CONSTANT = b"[0]"


def init() -> None:
    """Nothing to load."""


@rawhttp
def run(request):
    request.get_data()
    return AMLResponse(_CONSTANT, 200, {"Content-Type": "application/json"})
