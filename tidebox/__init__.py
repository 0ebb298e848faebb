"""tidebox: a local streaming data-pipeline sandbox shaped like Amazon's streaming stack."""

__version__ = "0.1.0"
