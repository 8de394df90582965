"""The ``aitbc`` command line (extra ``aitbc[cli]``)."""
