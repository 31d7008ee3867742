"""Groups of nodes (layers): the editing API over :class:`~bpstudio.core.model.Group`.

A group is an annotation: it names some nodes and says whether the canvas shows them as one
block. A node belongs to at most one group, and holds it (``Node.group``); the graph keeps the
groups by id and an index of their members. Each edit emits a :class:`GraphEvent` like every
other edit of the graph, and each has an exact inverse, so that an undo command is two calls:

- group:    ``add_group(name, ids)`` / ``ungroup(group)``; redo after an undo:
            ``restore_group(group, ids)`` (the same group, id and name);
- ungroup:  ``group, ids = ungroup(group)`` / ``restore_group(group, ids)``;
- rename:   ``rename_group(group, new)`` / ``rename_group(group, old)``;
- collapse: ``set_collapsed(group, flag)`` / ``set_collapsed(group, not flag)``.

Removing a node takes it out of its group (a group left empty goes too), and putting the node
back (``restore_node``, what undoing a delete does) returns it to its group, bringing the group
back if it went. Group edits do not change what the engine computes, so they leave
``Graph.version`` alone.
"""

from __future__ import annotations

import itertools
import re
from typing import Iterable

from . import rules
from .errors import GraphError
from .model import Group, GroupRef, Node, NodeRef


class GroupEditing:
    """Mixed into :class:`~bpstudio.core.graph.Graph`."""

    def _init_groups(self) -> None:
        self.groups: dict[str, Group] = {}
        self._members: dict[str, dict[str, None]] = {}  # group id -> member ids (ordered)
        self._group_ids = itertools.count(1)

    # ---------------------------------------------------------------------------------- queries
    def group(self, ref: GroupRef) -> Group:
        """The group for a Group, an id (``#g3``: no name can look like one) or a name;
        GraphError if there is none."""
        if isinstance(ref, Group):
            if self.groups.get(ref.id) is not ref:
                raise GraphError(f"group '{ref.name}' is not in this graph")
            return ref
        if ref in self.groups:
            return self.groups[ref]
        found = self.find_group(ref)
        if found is None:
            raise GraphError(f"no group named '{ref}'")
        return found

    def find_group(self, name: str) -> Group | None:
        return next((g for g in self.groups.values() if g.name == name), None)

    def group_of(self, node: NodeRef) -> Group | None:
        return self.node(node).group

    def member_ids(self, group: GroupRef) -> list[str]:
        """The ids of a group's nodes, in the graph's node order."""
        members = self._members[self.group(group).id]
        return [node_id for node_id in self.nodes if node_id in members]

    def members(self, group: GroupRef) -> list[Node]:
        return [self.nodes[i] for i in self.member_ids(group)]

    def groups_within(self, node_ids: Iterable[str]) -> list[tuple[Group, list[str]]]:
        """The groups all of whose nodes are among ``node_ids``, with their member ids: what a
        copy of those nodes can carry along (a group cut in two by a selection is left out)."""
        chosen = set(node_ids)
        found = []
        for g in self.groups.values():
            ids = self.member_ids(g)
            if chosen.issuperset(ids):
                found.append((g, ids))
        return found

    def unique_group_name(self, base: str) -> str:
        """``base`` if no group has it, else ``base_k`` for the first free k."""
        base = base[:rules.MAX_NAME_LENGTH]
        taken = {g.name for g in self.groups.values()}
        if base not in taken:
            return base
        stem = re.sub(r"_\d+$", "", base)
        for k in itertools.count(1):
            name = rules.truncated_name(stem, f"_{k}")
            if name not in taken:
                return name
        raise AssertionError("unreachable")

    def group_problem(self, name: str, node_ids: Iterable[NodeRef]) -> str | None:
        """Why these nodes cannot become a group called ``name``, or None when they can. Lets
        an editor refuse Group as Layer before it becomes an undoable edit."""
        try:
            self._group_members(name, node_ids)
        except GraphError as exc:
            return str(exc)
        return None

    def group_name_problem(self, name: str, group: GroupRef | None = None) -> str | None:
        """Why ``name`` cannot be given to ``group`` (or to a new group), or None."""
        current = None if group is None else self.group(group)
        if current is not None and current.name == name:
            return None
        try:
            self._check_group_name(name)
        except GraphError as exc:
            return str(exc)
        return None

    # ---------------------------------------------------------------------------------- editing
    def add_group(self, name: str, node_ids: Iterable[NodeRef], collapsed: bool = False,
                  group_id: str | None = None) -> Group:
        """Make a group of these nodes (none of them in a group yet); emits group_added."""
        nodes = self._group_members(name, node_ids)
        if group_id is None:
            group_id = next(i for i in (f"#g{k}" for k in self._group_ids) if i not in self.groups)
        else:
            rules.check(rules.id_problem(group_id), f"group '{name}'")
            if group_id in self.groups:
                raise GraphError(f"group id '{group_id}' is already used")
        return self._insert_group(Group(group_id, name, bool(collapsed)), nodes)

    def restore_group(self, group: Group, node_ids: Iterable[NodeRef]) -> Group:
        """Put back a group taken away by :meth:`ungroup`: the same object, id, name and
        collapsed state, over these nodes."""
        if group.id in self.groups:
            raise GraphError(f"group id '{group.id}' is already used")
        return self._insert_group(group, self._group_members(group.name, node_ids))

    def ungroup(self, group: GroupRef) -> tuple[Group, list[str]]:
        """Dissolve a group (its nodes stay, ungrouped); emits group_removed. Returns the group
        and its member ids, so that an undo command can :meth:`restore_group` it."""
        g = self.group(group)
        ids = self.member_ids(g)
        for node_id in ids:
            self.nodes[node_id].group = None
        del self.groups[g.id]
        del self._members[g.id]
        self._emit("group_removed", group=g)
        return g, ids

    def rename_group(self, group: GroupRef, name: str) -> None:
        g = self.group(group)
        if name == g.name:
            return
        self._check_group_name(name)
        g.name = name
        self._emit("group_changed", group=g, field="name")

    def set_collapsed(self, group: GroupRef, collapsed: bool) -> None:
        """Show the group as one block (True) or as its ops (False) on the canvas."""
        g = self.group(group)
        if bool(collapsed) == g.collapsed:
            return
        g.collapsed = bool(collapsed)
        self._emit("group_changed", group=g, field="collapsed")

    # -------------------------------------------------------- hooks for removing and restoring
    def _leave_group(self, node: Node) -> None:
        """After ``node`` was removed: out of its group's index (it keeps ``node.group``, for
        restore_node); the group goes when it is left empty."""
        g = node.group
        if g is None or self.groups.get(g.id) is not g:
            return
        members = self._members[g.id]
        members.pop(node.id, None)
        if members:
            self._emit("group_changed", node=node, group=g, field="members")
        else:
            del self.groups[g.id]
            del self._members[g.id]
            self._emit("group_removed", group=g)

    def _rejoin_group(self, node: Node) -> None:
        """After ``node`` was put back: into the group it was removed from, bringing the group
        back if it went with its last member. A group of that id made since (not the one the
        node left) does not take it."""
        g = node.group
        if g is None:
            return
        current = self.groups.get(g.id)
        if current is None:
            if self.find_group(g.name) is not None:
                node.group = None  # another group took the name meanwhile
                return
            self._insert_group(g, [node])
        elif current is g:
            self._members[g.id][node.id] = None
            self._emit("group_changed", node=node, group=g, field="members")
        else:
            node.group = None

    # ---------------------------------------------------------------------------------- helpers
    def _insert_group(self, group: Group, nodes: list[Node]) -> Group:
        self.groups[group.id] = group
        self._members[group.id] = dict.fromkeys(n.id for n in nodes)
        for n in nodes:
            n.group = group
        self._emit("group_added", group=group)
        return group

    def _group_members(self, name: str, node_ids: Iterable[NodeRef]) -> list[Node]:
        self._check_group_name(name)
        nodes: list[Node] = []
        seen: set[str] = set()
        for ref in node_ids:
            n = self.node(ref)
            if n.id in seen:
                continue
            if n.group is not None and self.groups.get(n.group.id) is n.group:
                raise GraphError(f"{n.label} is already in the group '{n.group.name}'")
            seen.add(n.id)
            nodes.append(n)
        if not nodes:
            raise GraphError(f"group '{name}': a group needs at least one node")
        return nodes

    def _check_group_name(self, name: str) -> None:
        rules.check(rules.name_problem(name), "group")
        if self.find_group(name) is not None:
            raise GraphError(f"the name '{name}' is already used by another group")
