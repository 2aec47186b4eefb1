"""What the service says about itself: its logs and its Prometheus metrics."""
