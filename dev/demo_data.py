"""A deterministic demo county (甘州区, 620702) for seeding and tests.

Pure: no I/O, no database, no clock — ``today`` is an argument and all randomness comes from one
``random.Random(seed)``, so the same seed and date always give the same county.
Names, addresses, ID numbers, phones and USCCs are fabricated but pass the real check-digit rules.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

from backend.identity.idcard import compute_check_digit
from backend.identity.uscc import USCC_CHARSET, compute_org_code_check_char, compute_uscc_check_char

COUNTY_CODE = "620702"
COUNTY_NAME = "甘州区"
HEAD = "户主"
ADULT_AGE = 18


# ── the model ─────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class DemoPerson:
    name: str
    id_number: str
    sex: str  # "M" / "F"
    birth_date: date
    relation: str  # one of RELATIONS, relative to the household head
    phone: str | None
    is_party_member: bool = False
    party_joined_on: date | None = None


@dataclass(frozen=True)
class DemoHousehold:
    """户; ``code`` is the 户号 (village code + 4 digits). The head (户主) is ``members[0]``."""

    code: str
    address: str
    members: list[DemoPerson]

    @property
    def head(self) -> DemoPerson:
        return self.members[0]


@dataclass(frozen=True)
class DemoGrid:
    code: str  # village code + 2 digits
    name: str
    households: list[DemoHousehold]


@dataclass(frozen=True)
class DemoPartyBranch:
    code: str
    name: str


@dataclass(frozen=True)
class DemoVillage:
    code: str  # 12-digit 统计用区划代码: township code + 3 digits (2xx 村, 0xx 社区)
    name: str
    kind: str  # "村" / "社区"
    grids: list[DemoGrid]
    party_branch: DemoPartyBranch


@dataclass(frozen=True)
class DemoTownship:
    code: str  # 9 digits: county code + 3
    name: str
    kind: str  # "镇" / "乡" / "街道"
    villages: list[DemoVillage]


@dataclass(frozen=True)
class DemoOrganisation:
    name: str
    uscc: str
    kind: str  # "cooperative" / "employer" / "enterprise"
    township_code: str


@dataclass(frozen=True)
class DemoPartyLink:
    """党员联户: a party member looks after a household of their own village."""

    member_id_number: str
    household_code: str


@dataclass(frozen=True)
class DemoCounty:
    code: str
    name: str
    townships: list[DemoTownship]
    organisations: list[DemoOrganisation]
    party_links: list[DemoPartyLink]

    def villages(self) -> Iterator[DemoVillage]:
        for township in self.townships:
            yield from township.villages

    def grids(self) -> Iterator[DemoGrid]:
        for village in self.villages():
            yield from village.grids

    def households(self) -> Iterator[DemoHousehold]:
        for grid in self.grids():
            yield from grid.households

    def people(self) -> Iterator[DemoPerson]:
        for household in self.households():
            yield from household.members


# ── fixed geography ───────────────────────────────────────────────────────────────────────────

# (code, name, kind, [(village name, kind), ...]); village codes are assigned in order.
_TOWNSHIPS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("620702100", "梁家墩镇", "镇", [("梁家墩社区", "社区"), ("清凉寺村", "村"), ("迎恩村", "村"), ("太平村", "村")]),
    ("620702101", "党寨镇", "镇", [("党寨村", "村"), ("十号村", "村"), ("陈寨村", "村"), ("杨家墩村", "村")]),
    ("620702102", "上秦镇", "镇", [("上秦村", "村"), ("徐赵寨村", "村"), ("金家湾村", "村"), ("王家墩村", "村")]),
]
_TARGET_HOUSEHOLDS = 2100
_GRIDS_PER_VILLAGE = [3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5, 5]  # shuffled per seed; sum 47

# Household size 1..7; mean ≈ 3.14 (rural Gansu 2020 census: ~3.0-3.2 persons per household).
_SIZE_WEIGHTS = [12, 25, 26, 20, 10, 5, 2]

# ~100 common surnames with approximate frequency (‰); 马/杨/王/张 are bumped for Hexi (河西) Gansu.
_SURNAMES = (
    "王76 李70 张72 刘54 陈45 杨40 黄22 赵24 吴20 周19 徐16 孙15 马30 朱13 胡13 郭12 何12 林11 "
    "高11 罗10 郑9 梁9 谢8 宋8 唐8 许7 韩7 冯7 邓7 曹7 彭6 曾6 肖6 田6 董6 袁5 潘5 于5 蒋5 蔡5 "
    "余5 杜5 叶4 程4 苏4 魏5 吕4 丁4 任4 沈4 姚4 卢4 姜3 崔3 钟3 谭3 陆3 汪3 范3 金3 石3 廖3 "
    "贾3 夏3 韦2 付3 方3 白3 邹3 孟2 熊2 秦2 邱2 江2 尹2 薛2 闫3 段2 雷2 侯2 龙2 史2 陶2 黎2 "
    "贺2 顾2 毛2 郝2 龚2 邵2 万2 钱2 严2 武2 戴1 莫1 孔1 向1 汤1 常2 康2 祁2"
)
_SURNAME_LIST = [entry[0] for entry in _SURNAMES.split()]
_SURNAME_WEIGHTS = [int(entry[1:]) for entry in _SURNAMES.split()]
_MALE_CHARS = "伟强军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊龙林峰磊国建文志海兵成德福贵祥荣忠全生发山宏庆东新武保喜学元永才有金"
_FEMALE_CHARS = "芳娜敏静丽艳娟霞秀兰英华梅琴玲燕萍红婷雪慧莉倩颖琳凤玉翠花桂珍月欣悦佳雨怡蓉洁丹春"

_MOBILE_PREFIXES = (
    "134 135 136 137 138 139 147 150 151 152 157 158 159 178 182 183 187 188 198 "
    "130 131 132 155 156 166 175 176 185 186 133 153 173 177 180 181 189 191 199"
).split()

_COOP_ITEMS = [
    "玉米制种", "蔬菜种植", "肉牛养殖", "奶牛养殖", "食用菌种植", "高原夏菜种植",
    "肉羊养殖", "农机服务", "中药材种植", "设施农业", "生猪养殖", "苹果种植",
]
_BRANDS = [
    "金穗", "丰源", "祁连", "黑河", "丹霞", "弱水", "绿洲", "甘泉", "鑫达", "宏远", "瑞丰",
    "恒信", "华祥", "润泽", "金张掖", "昌盛", "天泽", "陇原", "西域", "益农",
]
_EMPLOYER_TRADES = ["建筑劳务", "建筑工程", "劳务派遣", "市政工程", "装饰工程", "物流运输"]
_ENTERPRISE_TRADES = ["农产品加工", "玉米种业", "食品", "乳业", "农业科技", "饲料", "果蔬冷链"]
_ORG_MIX = {"cooperative": 12, "employer": 10, "enterprise": 8}


# ── helpers ───────────────────────────────────────────────────────────────────────────────────


def _years_before(d: date, years: int) -> date:
    """Same day ``years`` earlier; 29 Feb becomes 28 Feb."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def age_on(birth: date, today: date) -> int:
    """Completed years of age on ``today``."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


@dataclass
class _Slot:
    """A household member before names and numbers are attached."""

    relation: str
    age: int
    sex: str
    surname: str


class _Builder:
    """Holds the RNG and the sets that keep ID numbers, phones and USCCs unique across the county."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()

    # people ──────────────────────────────────────────────────────────────────────────────────

    def surname(self) -> str:
        return self.rng.choices(_SURNAME_LIST, _SURNAME_WEIGHTS)[0]

    def given_name(self, sex: str) -> str:
        chars = _MALE_CHARS if sex == "M" else _FEMALE_CHARS
        return "".join(self.rng.sample(chars, 1 if self.rng.random() < 0.35 else 2))

    def birth_date(self, age: int) -> date:
        """A birth date giving exactly ``age`` completed years on ``today``."""
        return _years_before(self.today, age) - timedelta(days=self.rng.randint(0, 364))

    def id_number(self, birth: date, sex: str) -> str:
        """Unique 18-char ID: region + birth date + 3-digit sequence (odd = male) + check digit."""
        prefix = COUNTY_CODE + birth.strftime("%Y%m%d")
        while True:
            seq = self.rng.randint(0, 99) * 10 + self.rng.choice((1, 3, 5, 7, 9) if sex == "M" else (0, 2, 4, 6, 8))
            if seq == 0:
                continue
            first17 = f"{prefix}{seq:03d}"
            if first17 not in self.used_ids:
                self.used_ids.add(first17)
                return first17 + compute_check_digit(first17)

    def phone(self, age: int) -> str | None:
        """Most adults have a mobile; children none, and many of the elderly none."""
        if age < ADULT_AGE:
            return None
        chance = 0.95 if age < 65 else 0.7 if age < 75 else 0.4
        if self.rng.random() >= chance:
            return None
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randint(0, 99_999_999):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def compose(self, size: int) -> list[_Slot]:
        """Relations, ages and sexes of one household; ages are consistent with the relations:
        spouse within 8 years, children 20-40 younger, parents 20-40 older, grandchildren ≥ 18
        younger than the oldest child, siblings within 12 years."""
        rng = self.rng
        head_age = int(rng.triangular(28, 80, 50))
        head_sex = "M" if rng.random() < 0.85 else "F"
        head_surname = self.surname()
        # The family surname (children's) is the husband's: the head's, or the spouse's if the head is a woman.
        family = head_surname if head_sex == "M" else self.surname()
        slots = [_Slot(HEAD, head_age, head_sex, head_surname)]
        left = size - 1

        if left and rng.random() < 0.88:
            gap = rng.randint(-2, 6)
            age = head_age - gap if head_sex == "M" else head_age + gap
            spouse_sex = "F" if head_sex == "M" else "M"
            spouse_surname = self.surname() if head_sex == "M" else family
            slots.append(_Slot("配偶", min(max(age, 20), 95), spouse_sex, spouse_surname))
            left -= 1

        if left and head_age <= 58 and rng.random() < 0.3:
            parents = min(left, rng.choice((1, 2)))
            top = min(38, 92 - head_age)
            father = head_age + rng.randint(23, top)
            mother = min(max(father - rng.randint(-2, 6), head_age + 20), head_age + top)
            with_father = parents == 2 or rng.random() < 0.4  # a lone surviving parent is more often the mother
            if with_father:
                slots.append(_Slot("父母", father, "M", head_surname))
            if parents == 2 or not with_father:
                slots.append(_Slot("父母", mother, "F", self.surname()))
            left -= parents

        grandchildren = 0
        if left >= 2 and head_age >= 48 and rng.random() < 0.5:
            grandchildren = min(3, rng.randint(1, left - 1))
        children: list[_Slot] = []
        for i in range(left - grandchildren):
            roll = rng.random()
            sex = "M" if rng.random() < 0.52 else "F"
            if i > 0 and roll < 0.05:
                age = min(max(head_age + rng.randint(-12, 12), ADULT_AGE), 95)
                slots.append(_Slot("兄弟姐妹", age, sex, head_surname))
            elif i > 0 and roll < 0.08:
                slots.append(_Slot("其他", rng.randint(ADULT_AGE, 75), sex, self.surname()))
            else:
                children.append(_Slot("子女", head_age - rng.randint(20, min(40, head_age)), sex, family))
        slots.extend(children)

        oldest_child = max((c.age for c in children), default=0)
        for _ in range(grandchildren):
            sex = "M" if rng.random() < 0.52 else "F"
            if oldest_child >= 18:
                age = rng.randint(0, min(oldest_child - 18, 25))
                slots.append(_Slot("孙子女", age, sex, family))
            else:  # no child old enough to be a parent: another child instead
                slots.append(_Slot("子女", head_age - rng.randint(20, min(40, head_age)), sex, family))
        return slots

    def person(self, slot: _Slot) -> DemoPerson:
        birth = self.birth_date(slot.age)
        return DemoPerson(
            name=slot.surname + self.given_name(slot.sex),
            id_number=self.id_number(birth, slot.sex),
            sex=slot.sex,
            birth_date=birth,
            relation=slot.relation,
            phone=self.phone(slot.age),
        )

    # party members ───────────────────────────────────────────────────────────────────────────

    def choose_party_members(self, households: list[list[DemoPerson]]) -> None:
        """Mark ~7 % of the village's adults as party members (weighted towards older men), in place."""
        adults = [
            (h, m)
            for h, members in enumerate(households)
            for m, p in enumerate(members)
            if age_on(p.birth_date, self.today) >= ADULT_AGE
        ]
        count = round(0.07 * len(adults))

        def key(hm: tuple[int, int]) -> float:
            p = households[hm[0]][hm[1]]
            weight = (1.6 if p.sex == "M" else 0.8) * (1.3 if age_on(p.birth_date, self.today) >= 35 else 1.0)
            return self.rng.random() ** (1.0 / weight)  # Efraimidis–Spirakis weighted sampling

        for h, m in sorted(adults, key=key, reverse=True)[:count]:
            p = households[h][m]
            earliest = _years_before(p.birth_date, -ADULT_AGE)
            joined = earliest + timedelta(days=self.rng.randint(0, (self.today - earliest).days))
            households[h][m] = replace(p, is_party_member=True, party_joined_on=joined)

    def link_party_members(self, households: list[DemoHousehold]) -> list[DemoPartyLink]:
        """Each member looks after 3-10 other households of the village; a household has at most
        one member. Quotas are trimmed (never below 3) so that they fit the village."""
        members = [(p, h.code) for h in households for p in h.members if p.is_party_member]
        quotas = [self.rng.randint(3, 10) for _ in members]
        budget = len(households) - len(members)  # each member may have to skip their own household
        if 3 * len(members) > budget:
            raise RuntimeError("village too small for its party members")  # not reachable with the shipped sizes
        while sum(quotas) > budget:
            quotas[quotas.index(max(quotas))] -= 1
        pool = [h.code for h in households]
        self.rng.shuffle(pool)
        taken: set[str] = set()
        links: list[DemoPartyLink] = []
        for (person, own), quota in zip(members, quotas):
            picked = [c for c in pool if c not in taken and c != own][:quota]
            taken.update(picked)
            links.extend(DemoPartyLink(person.id_number, c) for c in picked)
        return links

    # places ──────────────────────────────────────────────────────────────────────────────────

    def village(
        self, code: str, name: str, kind: str, n_grids: int, n_households: int
    ) -> tuple[DemoVillage, list[DemoPartyLink]]:
        weights = [self.rng.uniform(0.75, 1.25) for _ in range(n_grids)]
        per_grid = [int(n_households * w / sum(weights)) for w in weights]
        per_grid[-1] += n_households - sum(per_grid)

        member_lists: list[list[DemoPerson]] = []
        places: list[tuple[int, str]] = []  # (grid index, address)
        for g, count in enumerate(per_grid):
            for i in range(count):
                size = self.rng.choices(range(1, 8), _SIZE_WEIGHTS)[0]
                member_lists.append([self.person(s) for s in self.compose(size)])
                places.append((g, self.address(name, kind, g, i)))
        self.choose_party_members(member_lists)

        households = [
            DemoHousehold(code=f"{code}{n + 1:04d}", address=addr, members=members)
            for n, ((_, addr), members) in enumerate(zip(places, member_lists))
        ]
        grids = [
            DemoGrid(
                code=f"{code}{g + 1:02d}",
                name=f"第{g + 1}网格",
                households=[h for h, (hg, _) in zip(households, places) if hg == g],
            )
            for g in range(n_grids)
        ]
        branch = DemoPartyBranch(code=f"DZB{code}", name=f"{name}党支部")
        village = DemoVillage(code=code, name=name, kind=kind, grids=grids, party_branch=branch)
        return village, self.link_party_members(households)

    def address(self, village: str, kind: str, grid: int, i: int) -> str:
        """Villages: 村民小组 (社) and house number, two 社 per grid. Communities: building and flat."""
        if kind == "社区":
            return f"{village}{grid * 4 + i // 24 + 1}号楼{i % 24 // 4 + 1}0{i % 4 + 1}室"
        she = grid * 2 + 1 + i % 2
        return f"{village}{she}社{i // 2 + 1}号"

    # organisations ───────────────────────────────────────────────────────────────────────────

    def organisations(self, township_codes: list[str], village_names: list[str]) -> list[DemoOrganisation]:
        names: dict[str, str] = {}  # name → kind, insertion-ordered
        while sum(1 for k in names.values() if k == "cooperative") < _ORG_MIX["cooperative"]:
            place = self.rng.choice(village_names).removesuffix("社区").removesuffix("村")
            names.setdefault(f"{COUNTY_NAME}{place}{self.rng.choice(_COOP_ITEMS)}专业合作社", "cooperative")
        for kind, trades in (("employer", _EMPLOYER_TRADES), ("enterprise", _ENTERPRISE_TRADES)):
            while sum(1 for k in names.values() if k == kind) < _ORG_MIX[kind]:
                prefix = "张掖市" if self.rng.random() < 0.7 else COUNTY_NAME
                names.setdefault(f"{prefix}{self.rng.choice(_BRANDS)}{self.rng.choice(trades)}有限公司", kind)
        used: set[str] = set()
        orgs = []
        for name, kind in names.items():
            while True:
                uscc = self.uscc("93" if kind == "cooperative" else "91")
                if uscc not in used:
                    used.add(uscc)
                    break
            orgs.append(DemoOrganisation(name, uscc, kind, self.rng.choice(township_codes)))
        return orgs

    def uscc(self, authority_and_category: str) -> str:
        """GB 32100: '9' (市场监管) + category + region + 'MA7…' org code with its GB 11714 check + check."""
        org8 = "MA7" + "".join(self.rng.choice(USCC_CHARSET) for _ in range(5))
        first17 = authority_and_category + COUNTY_CODE + org8 + compute_org_code_check_char(org8)
        return first17 + compute_uscc_check_char(first17)


# ── entry point ───────────────────────────────────────────────────────────────────────────────


def generate_demo_county(seed: int = 2026, *, today: date) -> DemoCounty:
    """Three townships, 12 villages, 47 grids, 2,100 households and ~6,600 people, plus 30
    organisations and the 党员联户 links. Deterministic in (seed, today)."""
    b = _Builder(seed, today)
    grid_counts = list(_GRIDS_PER_VILLAGE)
    b.rng.shuffle(grid_counts)
    weights = [n * b.rng.uniform(0.85, 1.15) for n in grid_counts]
    household_counts = [int(_TARGET_HOUSEHOLDS * w / sum(weights)) for w in weights]
    household_counts[-1] += _TARGET_HOUSEHOLDS - sum(household_counts)

    townships: list[DemoTownship] = []
    links: list[DemoPartyLink] = []
    village_names: list[str] = []
    for t_code, t_name, t_kind, village_specs in _TOWNSHIPS:
        villages = []
        next_village = {"村": 201, "社区": 1}
        for v_name, v_kind in village_specs:
            v_code = f"{t_code}{next_village[v_kind]:03d}"
            next_village[v_kind] += 1
            n = len(village_names)
            village, village_links = b.village(v_code, v_name, v_kind, grid_counts[n], household_counts[n])
            villages.append(village)
            links.extend(village_links)
            village_names.append(v_name)
        townships.append(DemoTownship(t_code, t_name, t_kind, villages))

    organisations = b.organisations([t[0] for t in _TOWNSHIPS], village_names)
    return DemoCounty(COUNTY_CODE, COUNTY_NAME, townships, organisations, links)
