"""What the Azure targets share, whichever deploys: `auth.py` (the credentials, found per call,
for the Azure ML backend and the ARM steps of `arm/`) and `environment.py` (the GPU image's
environment and the server's variables, for the Azure ML backend and `v2/`)."""
