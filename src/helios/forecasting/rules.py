"""The rules of a lottery game, per era: real games change their number ranges over time."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RuleEra(BaseModel):
    """One period during which a game drew ``main_count`` of ``main_min..main_max`` and
    ``bonus_count`` of ``bonus_min..bonus_max``. ``end`` is inclusive; ``None`` means still in force."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: dt.date
    end: dt.date | None = None
    main_count: int = Field(ge=1, le=20)
    main_min: int = 1
    main_max: int = Field(ge=1, le=1000)
    bonus_count: int = Field(default=0, ge=0, le=5)
    bonus_min: int = 1
    bonus_max: int = Field(default=0, ge=0, le=1000)

    @model_validator(mode="after")
    def _ranges_hold_the_draw(self) -> RuleEra:
        if self.main_max - self.main_min + 1 < self.main_count:
            raise ValueError("main range is smaller than the number of main balls drawn")
        if self.bonus_count and self.bonus_max < self.bonus_min:
            raise ValueError("bonus range is empty")
        if self.end is not None and self.end < self.start:
            raise ValueError("era ends before it starts")
        return self


class GameRules(BaseModel):
    """Eras in date order, non-overlapping; every era draws the same number of balls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "custom"
    eras: list[RuleEra] = Field(min_length=1)

    @model_validator(mode="after")
    def _eras_are_ordered(self) -> GameRules:
        eras = self.eras
        for before, after in zip(eras, eras[1:], strict=False):
            if before.end is None or before.end >= after.start:
                raise ValueError(f"era starting {after.start} overlaps the one before it")
        counts = {(e.main_count, e.bonus_count) for e in eras}
        if len(counts) > 1:
            raise ValueError("every era must draw the same number of main and bonus balls")
        return self

    @property
    def main_count(self) -> int:
        return self.eras[0].main_count

    @property
    def bonus_count(self) -> int:
        return self.eras[0].bonus_count

    @property
    def max_main(self) -> int:
        return max(e.main_max for e in self.eras)

    @property
    def max_bonus(self) -> int:
        return max(e.bonus_max for e in self.eras)

    def era_on(self, day: dt.date) -> RuleEra | None:
        for era in self.eras:
            if era.start <= day and (era.end is None or day <= era.end):
                return era
        return None

    def current(self) -> RuleEra:
        return self.eras[-1]


POWERBALL = GameRules(
    name="powerball",
    eras=[
        # 5 of 1-59 + 1 of 1-39 until the January 2012 change of the Powerball range.
        RuleEra(
            start=dt.date(1997, 11, 1),
            end=dt.date(2012, 1, 14),
            main_count=5,
            main_max=59,
            bonus_count=1,
            bonus_max=39,
        ),
        RuleEra(
            start=dt.date(2012, 1, 15),
            end=dt.date(2015, 10, 3),
            main_count=5,
            main_max=59,
            bonus_count=1,
            bonus_max=35,
        ),
        RuleEra(start=dt.date(2015, 10, 4), main_count=5, main_max=69, bonus_count=1, bonus_max=26),
    ],
)

PRESETS: dict[str, GameRules] = {"powerball": POWERBALL}
