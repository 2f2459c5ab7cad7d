"""Every preset opens in the editor and draws with no node in error."""

import pytest

from designer.core.presets import preset_names


@pytest.mark.parametrize("name", preset_names())
def test_preset_draws_without_errors(window, name):
    assert window.open_design(name)
    graph = window.document.graph
    scene = window.scene
    assert len(list(scene.node_items())) == len(graph.nodes)
    assert len(scene._edges) == len(graph.edges)
    in_error = [item.node.id for item in scene.node_items() if item.result is None or not item.result.ok]
    assert in_error == []
    assert window.issues.node_ids() == []
    window.view.viewport().grab()  # paints every visible item once
