"""The node's business logic, independent of HTTP.

Every operation is a plain async function taking a :class:`aitbc.node.runtime.Tx` (or the
:class:`aitbc.node.runtime.Node` when it manages its own transactions), the acting
:class:`Principal` and validated input from :mod:`aitbc.node.schemas`. Functions return
wire-ready dicts and raise :class:`aitbc.node.problems.NodeProblem` to refuse.
"""
