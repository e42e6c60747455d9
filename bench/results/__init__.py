"""What a results file holds: the format the suite writes (``schema``, ``describe``) and the reader
that the report and ``bench.compare`` share (``load``, ``ladder``)."""
