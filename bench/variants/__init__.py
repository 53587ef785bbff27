"""Entry scripts that the benchmark serves beside model_service/score.py, for comparison."""
