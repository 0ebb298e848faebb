"""Kinesis Data Analytics SQL applications, translated into the Flink SQL tidebox runs.

:mod:`.tokens` reads the text, :mod:`.application` its streams and pumps, :mod:`.query` one
pump's query, :mod:`.translate` the whole application.
"""
