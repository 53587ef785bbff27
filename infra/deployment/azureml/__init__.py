"""The Azure ML backend (`azure` target, SDK v1): azureml-core's `Model.register` and
`AksWebservice`, imported only when an operation runs (`sdk.py`).

`backend.py` is the `Backend`; `service.py` (ownership, the web service's steps), `model.py` (one
registration per content hash), `settings.py` (our settings as `AksWebservice`'s), `handle.py`
(what state records to find the service again).
"""
