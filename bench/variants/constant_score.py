"""The server alone: an entry script that reads the body and answers a constant.

Same raw request access as our scorer (`@rawhttp`, so the server parses nothing), no model: what
azmlinfsrv (gunicorn sync worker + Flask + its request bookkeeping) costs per request by itself,
and at 256 images what receiving the body costs. The body is read so that its transfer is counted,
and so the connection is not closed with unread bytes in it (which would reset it before the client
reads the response); it is read as our scorer reads it, in one call of the declared length
(score.py `_read_declared_body`), the cheapest way the server offers. It logs as our scorer does:
`logging.json` here is model_service's (a link), so it pays the same log lines per request, and
no more.
"""

from azureml_inference_server_http.api.aml_request import rawhttp
from azureml_inference_server_http.api.aml_response import AMLResponse

_CONSTANT = b"[0]"


def init() -> None:
    """Nothing to load."""


@rawhttp
def run(request):
    length = request.content_length
    if length is None:
        request.get_data()  # chunked: werkzeug decodes the framing
    else:
        request.input_stream.read(length)
    return AMLResponse(_CONSTANT, 200, {"Content-Type": "application/json"})
