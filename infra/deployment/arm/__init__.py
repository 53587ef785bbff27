"""Steps sent to ARM's REST API directly, where azure-native's own request is not enough:
`compute_detach.py` (the detach a compute's DELETE needs) and `traffic_drain.py` (an endpoint's
traffic to 0% before its deployments go). Their dynamic providers stay at
`deployment.detach_provider` and `deployment.drain_provider`: those paths are pickled into state."""
