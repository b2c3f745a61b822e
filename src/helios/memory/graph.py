"""The knowledge graph: entities and relations that exist only through the memories supporting
them.

Invariant (checked by tests that walk the graph after random deletes): every stored entity and
relation has at least one support row, every support row's memory exists, and a relation's
supporters also support both its ends. Soft-deleted supporters hide a node or edge (it comes
back on restore); purging the last supporter deletes it (``prune``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, select, tuple_
from sqlalchemy.orm import Session

from helios.memory.extraction import Lexicon, entities_in
from helios.memory.tables import Entity, EntitySupport, Relation, RelationSupport

GENERIC_TYPE = "concept"


@dataclass(frozen=True)
class Linkable:
    """One memory's graph input: its text, plus the entities and triples it was written with."""

    memory_id: int
    content: str
    entities: list[dict]
    triples: list[dict]


def entity_key(name: str) -> str:
    return " ".join(name.split()).casefold()[:200]


class _Entities:
    """Get-or-create for one agent's entities, loading each (key, type) at most once per batch."""

    def __init__(self, session: Session, agent_id: int, lexicon: Lexicon) -> None:
        self.session, self.agent_id, self.lexicon = session, agent_id, lexicon
        self.ids: dict[tuple[str, str], int] = {}

    def preload(self, pairs: Iterable[tuple[str, str]]) -> None:
        wanted = {(entity_key(n), t) for n, t in pairs} - set(self.ids)
        for chunk in _chunks(sorted(wanted), 400):
            rows = self.session.execute(
                select(Entity.id, Entity.key, Entity.type).where(
                    Entity.agent_id == self.agent_id, tuple_(Entity.key, Entity.type).in_(chunk)
                )
            )
            self.ids.update({(key, kind): id_ for id_, key, kind in rows})

    def resolve(self, name: str, kind: str) -> tuple[str, str]:
        # A triple that calls "AAPL" a plain concept means the ticker Helios already knows.
        if kind == GENERIC_TYPE:
            kind = self.lexicon.known_type(name.strip()) or kind
        return " ".join(name.split())[:200], kind

    def id_of(self, name: str, kind: str) -> int:
        key = (entity_key(name), kind)
        if key not in self.ids:
            entity = Entity(agent_id=self.agent_id, name=name, key=key[0], type=kind)
            self.session.add(entity)
            self.session.flush()
            self.ids[key] = entity.id
        return self.ids[key]


def link(session: Session, agent_id: int, items: Sequence[Linkable], lexicon: Lexicon) -> None:
    """Add each memory's entities (given, and found in its text) and triples to the graph."""
    entities = _Entities(session, agent_id, lexicon)
    plans = [_plan(item, entities) for item in items]
    entities.preload(pair for _, names, triples in plans for pair in _pairs(names, triples))
    relation_ids = _relations(session, agent_id)
    entity_rows: set[tuple[int, int]] = set()
    relation_rows: set[tuple[int, int]] = set()
    for memory_id, names, triples in plans:
        for name, kind in names:
            entity_rows.add((entities.id_of(name, kind), memory_id))
        for subject, predicate, obj in triples:
            s, o = entities.id_of(*subject), entities.id_of(*obj)
            entity_rows |= {(s, memory_id), (o, memory_id)}
            relation_rows.add((_relation_id(session, agent_id, relation_ids, s, predicate, o), memory_id))
    if entity_rows:  # an empty executemany would insert one row of NULLs
        session.execute(
            EntitySupport.__table__.insert(), [{"entity_id": e, "memory_id": m} for e, m in entity_rows]
        )
    if relation_rows:
        session.execute(
            RelationSupport.__table__.insert(), [{"relation_id": r, "memory_id": m} for r, m in relation_rows]
        )


def _plan(item: Linkable, entities: _Entities):  # type: ignore[no-untyped-def]
    names = [entities.resolve(e["name"], e.get("type", GENERIC_TYPE)) for e in item.entities]
    names += [(n, t) for n, t in entities_in(item.content, entities.lexicon)]
    triples = [
        (
            entities.resolve(t["subject"], t.get("subject_type", GENERIC_TYPE)),
            t["predicate"].strip()[:100],
            entities.resolve(t["object"], t.get("object_type", GENERIC_TYPE)),
        )
        for t in item.triples
    ]
    return item.memory_id, _distinct(names), triples


def _pairs(names, triples):  # type: ignore[no-untyped-def]
    yield from names
    for subject, _, obj in triples:
        yield subject
        yield obj


def _distinct(names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for name, kind in names:
        seen.setdefault((entity_key(name), kind), (name, kind))
    return list(seen.values())


def _relations(session: Session, agent_id: int) -> dict[tuple[int, str, int], int]:
    rows = session.execute(
        select(Relation.id, Relation.subject_id, Relation.predicate, Relation.object_id).where(
            Relation.agent_id == agent_id
        )
    )
    return {(s, p, o): id_ for id_, s, p, o in rows}


def _relation_id(
    session: Session, agent_id: int, known: dict[tuple[int, str, int], int], s: int, p: str, o: int
) -> int:
    if (s, p, o) not in known:
        relation = Relation(agent_id=agent_id, subject_id=s, predicate=p, object_id=o)
        session.add(relation)
        session.flush()
        known[(s, p, o)] = relation.id
    return known[(s, p, o)]


def add_entities(
    session: Session, agent_id: int, found: dict[int, list[tuple[str, str]]], lexicon: Lexicon
) -> int:
    """Link entities found later (by an LLM) to the memories they were found in, each with that
    memory as its support, so no entity is ever an orphan; a link the memory already has (the
    rules found it too, or a redelivered event) is kept once. The number of links added."""
    entities = _Entities(session, agent_id, lexicon)
    plans = {m: _distinct([entities.resolve(n, k) for n, k in names]) for m, names in found.items()}
    entities.preload(pair for names in plans.values() for pair in names)
    wanted = {(entities.id_of(n, k), m) for m, names in plans.items() for n, k in names}
    held: set[tuple[int, int]] = set()
    for chunk in _chunks(sorted(plans), 500):
        held.update(
            session.execute(
                select(EntitySupport.entity_id, EntitySupport.memory_id).where(
                    EntitySupport.memory_id.in_(chunk)
                )
            ).tuples()
        )
    new = sorted(wanted - held)
    if new:
        session.execute(EntitySupport.__table__.insert(), [{"entity_id": e, "memory_id": m} for e, m in new])
    return len(new)


def unlink(session: Session, memory_ids: Sequence[int]) -> None:
    """Drop these memories' support; call ``prune`` after to remove what they alone held up."""
    for chunk in _chunks(list(memory_ids), 500):
        session.execute(delete(EntitySupport).where(EntitySupport.memory_id.in_(chunk)))
        session.execute(delete(RelationSupport).where(RelationSupport.memory_id.in_(chunk)))


def prune(session: Session) -> tuple[int, int]:
    """Delete every relation and entity left with no supporting memory: (entities, relations)."""
    relations = session.execute(
        delete(Relation).where(~exists().where(RelationSupport.relation_id == Relation.id))
    ).rowcount
    entities = session.execute(
        delete(Entity).where(~exists().where(EntitySupport.entity_id == Entity.id))
    ).rowcount
    return entities or 0, relations or 0


def _chunks(items: list, size: int):  # type: ignore[no-untyped-def]
    for start in range(0, len(items), size):
        yield items[start : start + size]
