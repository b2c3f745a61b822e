"""A multi-session conversational set for memory retrieval, built from a seed.

Each session is one day of a user talking to a forecasting agent; each turn becomes one memory.
Planted in the sessions are the facts that questions later ask about:

- plain facts and preferences ("My favourite sector is biotech"),
- facts that change ("My risk limit is 5%" ... weeks later "Change my risk limit to 2%"): the
  question asks for the current value, so only the newer turn is the answer; limits, holdings,
  contacts, schedules and settings, each its own kind (``changed: limit`` ...) so both halves get
  some of each; about half the changes are stored with ``supersedes`` linking the new turn to the
  old, the others are not (an agent that did not notice the change), and about half the questions
  say "now", "still", "these days" while the others just ask in the present tense,
- events tied to a day ("On the day Acme missed earnings, we cut the position"): the question
  names the event, not the words of the turn,
- news that only its date tells apart ("Globex announced a buyback" one day, "Globex cut its
  guidance" another): the question asks by time, as a person would ("What news did we get about
  Globex last week?", "... on March 14?", "What did we learn about AMD 3 days ago?"), relative to
  the day the set is built for (the benchmark's today), so sessions end three days before it.

Questions are split in two halves, alternating within each kind: ``tune`` (for choosing search
settings) and ``holdout`` (the reported result, never tuned on).

Every other turn is chatter drawn from the same vocabulary (tickers, sectors, models, people,
reports), so words alone do not give answers away. Questions are phrased with other words than
their answers where a person would (paraphrase), which is where embeddings must help and BM25
cannot.
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


PEOPLE = ["Maria", "Kenji", "Aisha", "Lars", "Priya", "Tom", "Chen", "Olga", "Diego", "Fatima"]
# Chatter near the later questions' subjects (people, reports, schedules, charts), in the
# conversation only: the scale benchmark draws its texts and queries from CHATTER alone.
TOPICAL = [
    "Send the {t} numbers to {p} when you get a chance.",
    "{p} asked about our {s} exposure again.",
    "The weekly report looked fine for {t}.",
    "Retrain {m} on {t} once the data is in.",
    "Put {t} on the watchlist for tomorrow.",
    "Can you draw the {t} chart with the {m} forecast on top?",
    "{p} is out of the office until Monday.",
    "What did the risk report say about {t}?",
]


def chatter(rng: random.Random, templates: list[str] = CHATTER) -> str:
    template = rng.choice(templates)
    words = {
        "t": rng.choice(TICKERS),
        "m": rng.choice(MODELS),
        "s": rng.choice(SECTORS),
        "c": rng.choice(COMPANIES),
    }
    if "{p}" in template:  # drawn only here, so CHATTER's texts come out as they always did
        words["p"] = rng.choice(PEOPLE)
    return template.format(**words)


PETS = [("dog", "Biscuit"), ("cat", "Pixel"), ("parrot", "Rio"), ("dog", "Nova"), ("cat", "Mochi")]
CITIES = ["Lisbon", "Osaka", "Denver", "Nairobi", "Oslo", "Austin", "Prague", "Lima"]


def build(
    sessions: int = 60, turns_per_session: int = 30, seed: int = 7, today: dt.date | None = None
) -> Corpus:
    rng = random.Random(seed)
    corpus = Corpus()
    today = today or dt.datetime.now(dt.UTC).date()
    plans = _plans(rng, sessions) + _dated_plans(random.Random(seed + 1), sessions, today)
    plans += _more_plans(random.Random(seed + 2), sessions)
    for s in range(sessions):
        day = today - dt.timedelta(days=3 * (sessions - s))
        planted = [p for p in plans if p[0] == s]
        slots = sorted(rng.sample(range(turns_per_session), k=min(len(planted), turns_per_session)))
        by_slot = dict(zip(slots, planted, strict=False))
        for t in range(turns_per_session):
            if t in by_slot:
                by_slot[t][1](corpus, day)
            else:
                corpus.say(chatter(rng, CHATTER + TOPICAL), day)
    seen: dict[str, int] = {}
    for question in corpus.questions:
        seen[question.kind] = seen.get(question.kind, 0) + 1
        question.split = "tune" if seen[question.kind] % 2 else "holdout"
    return corpus


NEWS = ["announced a share buyback", "cut its full-year guidance", "named a new chief financial officer"]
CALLS = ["the client wants a lower fee", "the audit is running late", "rates will probably fall"]
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
    subjects += [  # added with the second set of questions: appended, so the first ones land as before
        (p, [f"Call note: {p} said {said}." for said in CALLS], "What did {} tell us {}?") for p in PEOPLE[:6]
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
    return _change(
        first,
        later,
        f"Keep my position limit on {ticker} at {old}% of the portfolio.",
        f"Update: from now on the {ticker} position limit is {new}% instead.",
        f"What is my current maximum allocation to {ticker}?",
        "changed: limit",
    )


def _change(  # type: ignore[no-untyped-def]
    first: int, later: int, old: str, new: str, question: str, kind: str, linked: bool = True
):
    """Something stated, then changed in a later session: the question wants the later turn.
    ``linked``: the later turn is stored as superseding the earlier (else nothing ties them)."""
    state: dict[str, int] = {}

    def say_old(corpus: Corpus, day: dt.date) -> None:
        state["old"] = corpus.say(old, day)

    def say_new(corpus: Corpus, day: dt.date) -> None:
        index = corpus.say(new, day, supersedes=state.get("old") if linked else None)
        corpus.questions.append(Question(question, {index}, kind))

    return [(first, say_old), (later, say_new)]


# (what was said first, what replaced it, the question), per kind of fact that changes.
CHANGES = {
    "limit": [
        (
            f"Put a stop-loss on {t} {a}% below my entry price.",
            f"Tighten the {t} stop-loss to {b}% below entry.",
            q,
        )
        for t, a, b, q in [
            ("AMD", 8, 4, "Where is my AMD stop-loss now?"),
            ("INTC", 10, 6, "How much room does my INTC stop give me at the moment?"),
            ("JPM", 7, 3, "What stop do I have on JPM?"),
            ("XOM", 9, 5, "Is my XOM stop-loss still at 9%?"),
        ]
    ],
    "holding": [
        (
            "I bought 200 shares of AAPL this morning.",
            "Sold half of my AAPL, so I'm down to 100 shares.",
            "How many AAPL shares do I own right now?",
        ),
        (
            "We opened a position in MSFT today, 50 shares.",
            "Added another 70 MSFT, 120 shares in total now.",
            "What's the size of my Microsoft position?",
        ),
        (
            "I'm holding a small TSLA position for the long run.",
            "I sold the last of my TSLA shares today.",
            "Do I still own any TSLA?",
        ),
        (
            "My biggest holding is NVDA at about a fifth of the book.",
            "After the rebalance GOOG is my largest position.",
            "Which stock is the largest position in my portfolio at present?",
        ),
        (
            "I keep 10% of the portfolio in cash.",
            "Raise my cash buffer to 25%, markets feel fragile.",
            "How much cash am I keeping on the side?",
        ),
        (
            "I own JPM calls expiring in March.",
            "Rolled the JPM calls out to the June expiry.",
            "When do my JPM options expire?",
        ),
    ],
    "contact": [
        (
            "My broker is Maria at Northgate Securities.",
            "Maria left Northgate; Kenji handles my trades from now on.",
            "Who is my broker these days?",
        ),
        (
            "You can reach my accountant Aisha at aisha@ledgerline.com.",
            "Aisha's new address is aisha.k@brightbooks.io, the old one is closed.",
            "What email should I use for my accountant?",
        ),
        (
            "My assistant Lars books my travel.",
            "Priya replaced Lars as my assistant this week.",
            "Who books my trips now?",
        ),
        (
            "Call my lawyer Tom on 555-0142 if anything urgent comes up.",
            "Tom changed his number, it's 555-0199.",
            "What's my lawyer's phone number?",
        ),
        (
            "Chen is my contact at the Globex investor relations desk.",
            "Globex moved investor relations to Olga; Chen is gone.",
            "Who should I ask at Globex about investor questions?",
        ),
        (
            "My tax adviser is Diego in Austin.",
            "I switched tax advisers, Fatima does my taxes now.",
            "Who prepares my tax return?",
        ),
    ],
    "schedule": [
        (
            "Send me the portfolio summary every Monday at 8am.",
            "Move the portfolio summary to Friday afternoons.",
            "When do I get my portfolio summary now?",
        ),
        (
            "My weekly sync with Priya is on Tuesdays at 10.",
            "The Priya sync moved to Thursdays at 3pm.",
            "What day do Priya and I meet each week?",
        ),
        (
            "Retrain the forecasting models on the first of every month.",
            "Let's retrain the models every week instead of monthly.",
            "How often are the models retrained?",
        ),
        (
            "Rebalance the portfolio once a quarter.",
            "Switch to rebalancing twice a year, quarterly is too much churn.",
            "How frequently do I rebalance these days?",
        ),
        (
            "My dentist appointment is on the 14th at 9.",
            "Dentist called, the appointment is pushed to the 21st.",
            "When am I seeing the dentist?",
        ),
        (
            "The risk report should arrive by 7am daily.",
            "Deliver the risk report at 6:30 from now on, I start earlier.",
            "What time does my daily risk report come?",
        ),
    ],
    "setting": [
        (
            "Use garch as my default model for volatility.",
            "Make nbeats my default model from today, garch was too slow.",
            "Which model do I use by default at the moment?",
        ),
        (
            "Forecast horizon: 30 days is what I want.",
            "Shorten my forecast horizon to 7 days.",
            "How far ahead should forecasts look for me?",
        ),
        (
            "Show all prices in US dollars.",
            "I moved to Lisbon, please quote everything in euros now.",
            "Which currency do I want figures in?",
        ),
        (
            "Alert me when any position moves more than 5% in a day.",
            "Only alert me on moves bigger than 8%, too many pings.",
            "What daily move triggers an alert for me?",
        ),
        (
            "Use 95% intervals on every forecast.",
            "I'd like 80% intervals on forecasts going forward.",
            "What confidence level do I want my intervals at?",
        ),
        (
            "I like candlestick charts for everything.",
            "Actually switch me to line charts, candlesticks are too busy.",
            "What kind of chart do I prefer now?",
        ),
    ],
}

# Preferences said once, asked with other words (what BM25 cannot match and embeddings might).
PREFERENCES = [
    (
        "Keep my summaries to three bullet points, long reports just don't get read.",
        "How long should the write-ups you send me be?",
    ),
    (
        "Give me forecast ranges as percentages, dollar amounts mean little to me.",
        "How do I like uncertainty expressed?",
    ),
    (
        "Dividend payers let me sleep at night; I stay away from cash-burning growth stories.",
        "What kind of companies am I drawn to?",
    ),
    (
        "Please don't message me on Saturdays or Sundays unless something is on fire.",
        "Is it okay to contact me at the weekend?",
    ),
    (
        "I think best early, so put reviews on my calendar before 9.",
        "What time of day suits me for meetings?",
    ),
    (
        "Borrowing to invest makes me nervous, no margin in my account ever.",
        "Am I comfortable using leverage?",
    ),
    (
        "For news, I trust Reuters and Bloomberg, never social media rumours.",
        "Which sources of information do I rely on?",
    ),
    (
        "Email me anything long; text only when it can't wait.",
        "How should you get hold of me about something urgent?",
    ),
    (
        "Plain language please, skip the jargon when you explain a model.",
        "What tone should explanations take with me?",
    ),
    ("I'd rather miss a rally than sit through a 30% drawdown.", "How much risk am I willing to take?"),
    (
        "ESG matters to me: no tobacco, no weapons makers in my book.",
        "Are there industries I exclude on ethical grounds?",
    ),
    (
        "Tables over charts for me, I like to see the numbers.",
        "Do I want visuals or figures when you show results?",
    ),
    (
        "Round everything to two decimals, more digits is just noise.",
        "How precise should the numbers you give me be?",
    ),
    ("I prefer holding for years rather than trading in and out.", "Am I a short-term trader?"),
]

FACTS = [
    ("My daughter starts university in Prague this autumn.", "Where is my child going to study?"),
    ("My first job was as a bond trader at Initech.", "How did I start my career?"),
    ("I'm allergic to shellfish, keep that in mind for the team dinner.", "What can't I eat?"),
    ("Our office is on the 12th floor of the Hooli building.", "Which floor do we work on?"),
    ("My brokerage account number ends in 4471.", "What are the last digits of my trading account?"),
    ("I was born in Nairobi and moved to Denver at twelve.", "Where was I born?"),
    ("My wife Olga is a cardiologist.", "What does my spouse do for a living?"),
    ("I studied physics before moving into finance.", "What was my degree in?"),
    ("My car is an old blue Volvo.", "What do I drive?"),
    ("My mentor Kenji runs the quant team at Umbrella.", "Who taught me the ropes, and where do they work?"),
]

EVENTS = [
    (
        "When AAPL fell on the antitrust ruling we bought protective puts.",
        "How did we protect ourselves after Apple's legal setback?",
    ),
    (
        "After the NVDA CEO stepped down we sold a third of the stake.",
        "What did we do when Nvidia's chief executive left?",
    ),
    (
        "The TSLA recall news made us cut the position to a quarter.",
        "How did we react to the Tesla product recall?",
    ),
    (
        "The day AMZN reported a data breach we paused all buying.",
        "What happened to our purchases when Amazon was hacked?",
    ),
    (
        "When GOOG announced the acquisition we added to the position.",
        "How did we respond to Google's takeover news?",
    ),
    (
        "On the day META went down for hours we wrote covered calls against the shares.",
        "What did we do during the Meta service disruption?",
    ),
    (
        "When INTC got downgraded by the rating agencies we exited completely.",
        "What was our move after Intel's credit downgrade?",
    ),
    (
        "The XOM refinery fire made us hedge with oil futures.",
        "How did we respond to the Exxon plant accident?",
    ),
]


def _more_plans(rng: random.Random, sessions: int):  # type: ignore[no-untyped-def]
    """The questions added after the first 56: changes of every kind, paraphrased preferences,
    facts and events (their own random stream, so the first plans land where they always did)."""
    plans = []
    for kind, changes in CHANGES.items():
        for i, (old, new, question) in enumerate(changes):
            first, later = rng.randrange(sessions // 2), rng.randrange(sessions // 2 + 1, sessions)
            plans += _change(first, later, old, new, question, f"changed: {kind}", linked=i % 2 == 0)
    for content, question in PREFERENCES:
        plans.append((rng.randrange(sessions), _fact(content, question, "preference")))
    for content, question in FACTS:
        plans.append((rng.randrange(sessions), _fact(content, question, "fact")))
    for content, question in EVENTS:
        plans.append((rng.randrange(sessions), _fact(content, question, "event")))
    return plans
