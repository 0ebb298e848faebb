"""Kinesis Data Analytics SQL applications, translated into the Flink SQL tidebox runs.

:mod:`.tokens` reads the text, :mod:`.application` its streams and pumps, :mod:`.translate`
the whole application and :mod:`.query` one pump's query, with the rules of
:mod:`.functions` (scalar functions), :mod:`.types` (declared types), :mod:`.sliding` (OVER
windows), :mod:`.stagger` (stagger windows), :mod:`.cursors` (table functions over cursors)
and :mod:`.ordering` (ORDER BY). :mod:`.job` makes an application a tidebox job.
"""
