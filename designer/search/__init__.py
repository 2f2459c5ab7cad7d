"""Qt-free structure search: function-preserving edits (grow.py), the search space kept in a
design file (space.py) and several objectives with constraints (objectives.py)."""
