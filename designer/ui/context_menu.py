"""Right-click menus on the canvas: on empty canvas (add a layer there, paste, layout, fit), on a
node (look inside, rename, duplicate, disconnect, group, explode, delete) and on a wire (insert a
layer into it, delete it). Menus reuse the editor's actions, so shortcuts and enabled states match
the main menus; the few entries that act on what was clicked build their own commands.
"""

from PySide6.QtWidgets import QMenu

from designer.core.commands import Compound, Disconnect
from designer.core.errors import DesignError
from designer.core.registry import get_spec

# Layers offered by "Add layer" and "Insert layer" (the palette has them all).
COMMON_LAYERS = ("Conv2d", "BatchNorm", "ReLU", "MaxPool2d", "AvgPool2d", "Dropout", "Add", "Concat",
                 "Flatten", "Linear", "Identity")


def _layer_menu(menu, title, on_choose):
    sub = menu.addMenu(title)
    for type_name in COMMON_LAYERS:
        action = sub.addAction(get_spec(type_name).title)
        action.setData(type_name)
        action.triggered.connect(lambda checked=False, t=type_name: on_choose(t))
    return sub


def disconnect_command(graph, node_ids, inputs=True, outputs=True):
    """One compound that removes the chosen nodes' incoming and/or outgoing edges."""
    chosen = set(node_ids)
    edges = [e for e in graph.edges if (inputs and e.dst in chosen) or (outputs and e.src in chosen)]
    text = "Disconnect " + (node_ids[0] if len(node_ids) == 1 else f"{len(node_ids)} nodes")
    return Compound(graph, text, [Disconnect(graph, e) for e in edges]), len(edges)


def build(window, scene_pos, item_kind, target):
    """The menu for a right-click at `scene_pos` on a node id, an edge, or empty canvas
    (`item_kind` "node", "edge" or None), with the window's actions. The scene's selection has
    already been set to what was clicked."""
    menu = QMenu(window)
    actions, editor = window, window.editor
    scene = editor.scene
    editable = editor.editable
    if item_kind == "edge":
        menu.addAction(actions.act_delete)
        if editable:
            _layer_menu(menu, "Insert Layer Here", lambda t: editor.add_layer(t, scene_pos))
        return menu
    if item_kind == "node":
        node = scene.graph.nodes[target]
        if node.is_block:
            menu.addAction(actions.act_open_block)
        menu.addAction(actions.act_rename)
        menu.addSeparator()
        for action in (actions.act_cut, actions.act_copy, actions.act_duplicate, actions.act_delete):
            menu.addAction(action)
        if editable:
            menu.addSeparator()
            ids = scene.selected_ids()
            graph = scene.graph
            for text, inputs, outputs in (("Disconnect Inputs", True, False),
                                          ("Disconnect Outputs", False, True),
                                          ("Disconnect All", True, True)):
                command, count = disconnect_command(graph, ids, inputs, outputs)
                action = menu.addAction(text)
                action.setEnabled(count > 0)
                action.triggered.connect(lambda checked=False, c=command: _push(editor, c))
            _grow_entries(menu, window, node)
        menu.addSeparator()
        menu.addAction(actions.act_group)
        if node.is_block:
            menu.addAction(actions.act_explode)
        return menu
    if editable:
        _layer_menu(menu, "Add Layer Here", lambda t: editor.add_layer(t, scene_pos))
        menu.addAction(actions.act_paste)
        menu.addSeparator()
    for action in (actions.act_select_all, actions.act_layout, actions.act_fit):
        menu.addAction(action)
    if editor.crumbs:
        menu.addAction(actions.act_close_block)
    return menu


def _grow_entries(menu, window, node):
    """Function-preserving edits (designer.ui.grow_actions), with the current weights."""
    from .grow_actions import WIDENABLE, grower_of
    grower = grower_of(window)
    weights = window.editor.document.current_weights is not None and not grower.is_running
    menu.addSeparator()
    widen = menu.addAction("Widen, Keep Function…")
    widen.setEnabled(weights and node.type in WIDENABLE)
    widen.triggered.connect(lambda checked=False: grower.widen(node.id))
    insert = menu.addAction("Insert Layer, Keep Function")
    insert.setEnabled(weights and len(node.output_ports()) == 1)
    insert.triggered.connect(lambda checked=False: grower.deepen(node.id))
    tip = "" if weights else "needs trained weights (train the design, or open a run)"
    for action in (widen, insert):
        action.setToolTip(tip)


def _push(editor, command):
    try:
        editor.push(command)
    except DesignError:
        pass  # the editor's push has shown the sentence
