"""A multi-session conversational set for memory retrieval, built from a seed.

Each session is one day of a user talking to a forecasting agent; each turn becomes one memory.
Planted in the sessions are the facts that questions later ask about:

- plain facts and preferences ("My favourite sector is biotech"),
- facts that change ("My risk limit is 5%" ... weeks later "Change my risk limit to 2%"): the
  question asks for the current value, so only the newer turn is the answer,
- events tied to a day ("On the day Acme missed earnings, we cut the position"): the question
  names the event, not the words of the turn,
- news that only its date tells apart ("Globex announced a buyback" one day, "Globex cut its
  guidance" another): the question asks by time, as a person would ("What news did we get about
  Globex last week?", "... on March 14?", "What did we learn about AMD 3 days ago?"), relative to
  the day the set is built for (the benchmark's today), so sessions end three days before it.

Questions are split in two halves, alternating within each kind: ``tune`` (for choosing search
settings) and ``holdout`` (the reported result, never tuned on).

Every other turn is chatter drawn from the same vocabulary (tickers, sectors, models), so words
alone do not give answers away. Questions are phrased with other words than their answers where
a person would (paraphrase), which is where embeddings must help and BM25 cannot.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

TICKERS = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOG", "META", "NFLX", "AMD", "INTC", "JPM", "XOM"]
SECTORS = ["biotech", "semiconductors", "energy", "banking", "retail", "cloud software", "utilities"]
COMPANIES = ["Acme", "Initech", "Globex", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises"]
MODELS = ["nbeats", "auto_arima", "ensemble", "garch", "gbm"]
CHATTER = [
    "Can you show me the {t} chart for last week?",
    "What does the {m} model say about {t} tomorrow?",
    "{t} opened flat this morning.",
    "Remind me to look at {t} after the close.",
    "The {s} sector looked busy today.",
    "How wide is the interval on the {t} forecast?",
    "Let's compare {m} with the baseline on {t}.",
    "Volume on {t} was higher than usual.",
    "I read a note about {c} and the {s} sector.",
    "Thanks, that's all for {t} today.",
]


@dataclass
class Turn:
    content: str
    day: dt.date
    supersedes: int | None = None  # index of the turn this one replaces


@dataclass
class Question:
    text: str
    answers: set[int]  # turn indexes that hold the answer
    kind: str
    split: str = ""  # tune | holdout


@dataclass
class Corpus:
    turns: list[Turn] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)

    def say(self, content: str, day: dt.date, supersedes: int | None = None) -> int:
        self.turns.append(Turn(content, day, supersedes))
        return len(self.turns) - 1


def chatter(rng: random.Random) -> str:
    return rng.choice(CHATTER).format(
        t=rng.choice(TICKERS), m=rng.choice(MODELS), s=rng.choice(SECTORS), c=rng.choice(COMPANIES)
    )


PEOPLE = ["Maria", "Kenji", "Aisha", "Lars", "Priya", "Tom", "Chen", "Olga", "Diego", "Fatima"]
PETS = [("dog", "Biscuit"), ("cat", "Pixel"), ("parrot", "Rio"), ("dog", "Nova"), ("cat", "Mochi")]
CITIES = ["Lisbon", "Osaka", "Denver", "Nairobi", "Oslo", "Austin", "Prague", "Lima"]


def build(
    sessions: int = 60, turns_per_session: int = 30, seed: int = 7, today: dt.date | None = None
) -> Corpus:
    rng = random.Random(seed)
    corpus = Corpus()
    today = today or dt.datetime.now(dt.UTC).date()
    plans = _plans(rng, sessions) + _dated_plans(random.Random(seed + 1), sessions, today)
    for s in range(sessions):
        day = today - dt.timedelta(days=3 * (sessions - s))
        planted = [p for p in plans if p[0] == s]
        slots = sorted(rng.sample(range(turns_per_session), k=min(len(planted), turns_per_session)))
        by_slot = dict(zip(slots, planted, strict=False))
        for t in range(turns_per_session):
            if t in by_slot:
                by_slot[t][1](corpus, day)
            else:
                corpus.say(chatter(rng), day)
    seen: dict[str, int] = {}
    for question in corpus.questions:
        seen[question.kind] = seen.get(question.kind, 0) + 1
        question.split = "tune" if seen[question.kind] % 2 else "holdout"
    return corpus


NEWS = ["announced a share buyback", "cut its full-year guidance", "named a new chief financial officer"]
LESSONS = [
    "the gap at the open filled within the hour",
    "the earnings-day interval was far too narrow",
    "volume spikes came before the big moves",
]


def _dated_plans(rng: random.Random, sessions: int, today: dt.date):  # type: ignore[no-untyped-def]
    """Several dated items about one name; the question picks one by its date alone."""
    plans = []
    subjects = [
        (c, [f"Quick note: {c} {n} today." for n in NEWS], "What news did we get about {} {}?")
        for c in COMPANIES
    ]
    subjects += [
        (t, [f"Lesson learned on {t}: {lesson}." for lesson in LESSONS[:2]], "What did we learn about {} {}?")
        for t in TICKERS[8:]
    ]
    for i, (name, contents, question) in enumerate(subjects):
        contents = contents[i % len(contents) :] + contents[: i % len(contents)]  # vary which is asked
        # Every third asked item is recent (3, 6, 9 or 12 days ago), the others any earlier day.
        asked = sessions - 1 - (i // 3) % 4 if i % 3 == 0 else rng.randrange(sessions - 4)
        days = rng.sample([d for d in range(sessions - 4) if d != asked], len(contents) - 1) + [asked]
        for position, (content, s) in enumerate(zip(contents, days, strict=True)):
            if position == len(contents) - 1:
                plans.append((s, _dated_fact(content, question, name, today)))
            else:
                plans.append((s, _fact_only(content)))
    return plans


def _fact_only(content: str):  # type: ignore[no-untyped-def]
    def act(corpus: Corpus, day: dt.date) -> None:
        corpus.say(content, day)

    return act


def _dated_fact(content: str, question: str, name: str, today: dt.date):  # type: ignore[no-untyped-def]
    def act(corpus: Corpus, day: dt.date) -> None:
        index = corpus.say(content, day)
        corpus.questions.append(Question(question.format(name, when(day, today)), {index}, "dated"))

    return act


def when(day: dt.date, today: dt.date) -> str:
    """How a person names a past day relative to today."""
    ago = (today - day).days
    monday = today - dt.timedelta(days=today.weekday())
    if ago == 1:
        return "yesterday"
    if ago <= 6:
        return f"{ago} days ago"
    if monday - dt.timedelta(days=7) <= day < monday:
        return "last week"
    return f"on {day:%B} {day.day}"


def _plans(rng: random.Random, sessions: int):  # type: ignore[no-untyped-def]
    """(session, action) pairs; actions plant a turn and register its question."""
    plans = []
    for i, person in enumerate(PEOPLE):
        sector = SECTORS[i % len(SECTORS)]
        s = rng.randrange(sessions)
        plans.append(
            (
                s,
                _fact(
                    f"My colleague {person} covers the {sector} desk.",
                    f"Which part of the market does {person} look after?",
                    "fact",
                ),
            )
        )
    for animal, name in PETS:
        plans.append(
            (
                rng.randrange(sessions),
                _fact(
                    f"I'm writing this while my {animal} {name} sleeps next to me.",
                    f"What is the name of my pet {animal}?",
                    "fact",
                ),
            )
        )
    for i, city in enumerate(CITIES):
        plans.append(
            (
                rng.randrange(sessions),
                _fact(
                    f"Next month I'm flying to {city} for the investor conference.",
                    "Where am I travelling for the conference?"
                    if i == 0
                    else f"Which trip did I mention involving {city}?",
                    "fact",
                ),
            )
        )
    for i, sector in enumerate(SECTORS):
        plans.append(
            (
                rng.randrange(sessions),
                _fact(
                    f"Honestly I never want to hold anything in {sector}, too unpredictable for me.",
                    f"Which industry do I avoid investing in? ({sector}?)"
                    if i % 2
                    else f"Do I like {sector} stocks?",
                    "preference",
                ),
            )
        )
    for i, ticker in enumerate(TICKERS[:8]):
        first = rng.randrange(sessions // 2)
        later = rng.randrange(sessions // 2 + 1, sessions)
        old, new = 3 + i % 4, 1 + i % 2
        plans.append(_changing(first, later, ticker, old, new))
    for company in COMPANIES:
        s = rng.randrange(sessions)
        plans.append(
            (
                s,
                _fact(
                    f"{company} missed earnings badly, so we trimmed the position by half.",
                    f"What did we do after {company}'s disappointing quarterly results?",
                    "event",
                ),
            )
        )
    return [p for plan in plans for p in (plan if isinstance(plan, list) else [plan])]


def _fact(content: str, question: str, kind: str):  # type: ignore[no-untyped-def]
    def act(corpus: Corpus, day: dt.date) -> None:
        index = corpus.say(content, day)
        corpus.questions.append(Question(question, {index}, kind))

    return act


def _changing(first: int, later: int, ticker: str, old: int, new: int) -> list:  # type: ignore[type-arg]
    """A limit set, then changed: the question wants the current limit (the later turn)."""
    state: dict[str, int] = {}

    def set_limit(corpus: Corpus, day: dt.date) -> None:
        state["old"] = corpus.say(f"Keep my position limit on {ticker} at {old}% of the portfolio.", day)

    def change_limit(corpus: Corpus, day: dt.date) -> None:
        index = corpus.say(
            f"Update: from now on the {ticker} position limit is {new}% instead.",
            day,
            supersedes=state.get("old"),
        )
        corpus.questions.append(
            Question(f"What is my current maximum allocation to {ticker}?", {index}, "changed")
        )

    return [(first, set_limit), (later, change_limit)]
