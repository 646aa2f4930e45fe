"""Chinese names and addresses: dictionaries plus a little grammar.

Names: a surname from ``data/cn_surnames.yaml`` followed by one or two characters, found after a
label (``姓名：``, ``联系人``, ``收货人`` …), before an honorific (``先生``, ``女士``), or as a
whole value of two to four characters (which alone scores below the reporting threshold and needs
a column hint such as ``xm`` / ``姓名``). Without such evidence a Chinese word that starts with a
surname character (``高兴``, ``成功``) is not a name.

Addresses: an administrative division name from ``data/cn_divisions.yaml`` (province or
prefecture-level city, with or without its suffix) followed by components that end in address
suffixes (省/市/区/县/镇/乡/街道/路/街/巷/号/栋/单元/室 …). The more components, the higher the
score; one component (``上海市``) is a place, not an address.

>>> [(f.value, round(f.score, 2)) for f in CnNameRecognizer().analyze("联系人：王建华，电话13812345678")]
[('王建华', 0.85)]
>>> [f.value for f in CnNameRecognizer().analyze("收货人李梅电话")]
['李梅']
>>> [(f.value, round(f.score, 2)) for f in CnAddressRecognizer().analyze("住址：浙江省杭州市西湖区文三路90号3幢201室")]
[('浙江省杭州市西湖区文三路90号3幢201室', 1.0)]
>>> CnAddressRecognizer().analyze("我们在北京市召开会议")
[]
"""

from __future__ import annotations

import re
from typing import ClassVar

from detectors.sensitive.base import CJK_CLASS, Finding, Pattern, Recognizer
from detectors.sensitive.loader import load_divisions, load_surnames

__all__ = ["NAME_LABELS", "CnAddressRecognizer", "CnNameRecognizer"]

_CJK = f"[{CJK_CLASS}]"

#: Labels that introduce a person's name.
# fmt: off
NAME_LABELS = (
    "姓名", "名字", "真实姓名", "联系人", "收货人", "收件人", "寄件人", "签收人", "客户", "客户姓名", "持卡人", "户主", "户名",
    "开户名", "账户名", "申请人", "借款人", "担保人", "法定代表人", "法人代表", "法人", "患者", "病人", "员工", "职员", "经办人",
    "负责人", "乘客", "旅客", "学生", "业主", "租客", "家长", "监护人", "被保险人", "投保人", "受益人", "当事人", "车主", "司机",
    "驾驶员", "驾驶人", "收款人", "付款人", "联系人姓名", "我叫", "名叫", "叫做", "name", "full name", "customer",
    "contact", "cardholder", "holder", "patient", "applicant",
)
# fmt: on
# fmt: off
_HONORIFICS = (
    "先生", "女士", "小姐", "同学", "老师", "师傅", "医生", "律师", "经理", "总监", "主任", "教授", "阿姨", "大爷",
)
# fmt: on
# A second given-name character that is far more often the start of the next word:
# 王梅电话 → 王梅, 李强的 → 李强.
_TRAILING_STOP = set(
    "电手身住地的在于是和与及先女男性年岁联邮工证家已请来去说向从对把被给到等，、号卡账银等也都就还"
)
_LEADING_STOP = set("的在于是和与及先女男电手身住地联邮证号某")


def _surname_regex(surnames: dict[str, float]) -> str:
    single = "".join(sorted(s for s in surnames if len(s) == 1))
    double = "|".join(sorted((s for s in surnames if len(s) == 2), key=len, reverse=True))
    return f"(?:{double}|[{single}])" if double else f"[{single}]"


class CnNameRecognizer(Recognizer):
    """Chinese personal names (see module doc)."""

    ENTITY = "PERSON_NAME"
    REQUIRES = ("cjk",)
    CONTEXT = ()  # labels are part of the patterns
    LABEL_SCORE = 0.85
    HONORIFIC_SCORE = 0.75
    SURNAME_ONLY_SCORE = 0.45  # 王先生: partial identification
    BARE_COMMON_SCORE = 0.35  # a whole value 王梅 with a top-100 surname
    BARE_RARE_SCORE = 0.25

    def __init__(self, surnames: dict[str, float] | None = None, **kw):
        self.surnames = surnames
        self._surnames = surnames if surnames is not None else load_surnames()
        sn = _surname_regex(self._surnames)
        ranked = sorted(self._surnames, key=self._surnames.get, reverse=True)
        self._common = frozenset(ranked[:100])
        labels = "|".join(re.escape(w) for w in sorted(NAME_LABELS, key=len, reverse=True))
        hon = "|".join(_HONORIFICS)
        patterns = (
            Pattern(
                "labelled",
                rf"(?i:{labels})\s*[:：=|]?\s*(?:是|为|叫)?\s*(?P<name>{sn}{_CJK}{{1,2}})",
                self.LABEL_SCORE,
                "name",
            ),
            Pattern(
                "honorific", rf"(?P<name>{sn}{_CJK}{{0,2}}?)(?:{hon})", self.HONORIFIC_SCORE, "name"
            ),
            Pattern(
                "bare", rf"^\s*(?P<name>{sn}{_CJK}{{1,2}})\s*$", self.BARE_COMMON_SCORE, "name"
            ),
        )
        super().__init__(patterns=patterns, **kw)

    def _surname_of(self, value: str) -> str:
        # A compound surname (欧阳) wins over its first character (欧): 欧阳先生 is a surname only.
        return value[:2] if len(value) >= 2 and value[:2] in self._surnames else value[0]

    def analyze(self, text: str, hints: frozenset[str] = frozenset()) -> list[Finding]:
        out: list[Finding] = []
        spans: set[tuple[int, int]] = set()
        for pattern in self._patterns:
            for m in pattern.compiled.finditer(text):
                start, end = m.span("name")
                value = m.group("name")
                surname = self._surname_of(value)
                given = value[len(surname) :]
                score = pattern.score
                note = None
                if pattern.name == "honorific":
                    if not given:
                        score = self.SURNAME_ONLY_SCORE
                    elif given[0] in _LEADING_STOP:
                        continue
                elif given:
                    if given[0] in _LEADING_STOP:
                        continue
                    if len(given) == 2 and given[1] in _TRAILING_STOP and pattern.name != "bare":
                        end -= 1
                        value = value[:-1]
                        note = "trailing word trimmed"
                    if pattern.name == "bare" and surname not in self._common:
                        score = self.BARE_RARE_SCORE
                if (start, end) in spans:
                    continue
                spans.add((start, end))
                f = Finding(
                    self._entity,
                    start,
                    end,
                    score,
                    self._name,
                    pattern.name,
                    value,
                    score,
                    validation=f"surname {surname}",
                )
                out.append(self.enhance(text, f, hints, (note,) if note else ()))
        return out


# --- addresses -----------------------------------------------------------------------------------

_ADMIN_SUFFIX = "(?:特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|自治州|地区|省|市|盟)"
# fmt: off
_SUFFIXES = (
    "特别行政区", "自治区", "自治州", "自治县", "开发区", "高新区", "新区", "街道", "大道", "大街", "胡同", "社区", "小区", "花园",
    "大厦", "公寓", "广场", "号楼", "号院", "单元", "省", "市", "区", "县", "旗", "盟", "州", "镇", "乡", "村", "组",
    "路", "街", "巷", "弄", "里", "道", "号", "栋", "幢", "座", "楼", "层", "室", "苑", "园", "庄", "屯", "段",
    "期", "条",
)
# fmt: on
# Characters that end an address component body: function words of a sentence and the words
# of other labels (身份证, 号码, 银行卡). Place names use most characters (成都, 和田, 个旧, 那曲), so
# the list is short; the length limit does the rest (上海市场监管局位于黄浦区 is no address).
_BODY = rf"(?:(?![的是在于了我你他她它们这说但或就还也把被给证码卡账]){_CJK})"
_SUFFIX_ALT = "|".join(sorted(_SUFFIXES, key=len, reverse=True))


# A component: a short body then one or more suffixes (广州路: 广 + 州路, where lazily stopping at
# 州 would strand 路), or a number with a unit, or a lettered block (A座).
_COMPONENT = (
    rf"(?:{_BODY}{{1,6}}?(?:{_SUFFIX_ALT})+"
    r"|[0-9０-９]{1,5}(?:-[0-9]{1,4})?(?:号楼|号院|号|栋|幢|单元|室|楼|层|弄|巷|组|区)"
    r"|[A-Za-z](?:座|栋|幢|区|单元)"
    r"|(?<=[单元楼层栋幢座号])[0-9]{2,5}(?![0-9]))"
)
_COMPONENT_RX = re.compile(_COMPONENT)


class CnAddressRecognizer(Recognizer):
    """Chinese postal addresses anchored on a division name (see module doc)."""

    ENTITY = "ADDRESS"
    REQUIRES = ("cjk",)
    # fmt: off
    CONTEXT = (
        "地址", "住址", "家庭住址", "户籍", "户籍地", "收货地址", "通讯地址", "居住地", "现住", "家住", "住在", "寄到", "送到",
        "address", "addr", "residence", "dz",
    )
    # fmt: on
    PENALISED_BY_ID_HINT = False
    SCORES: ClassVar[dict[int, float]] = {2: 0.55, 3: 0.7}  # by component count; 4+: 0.85
    UNANCHORED_PENALTY = 0.15

    def __init__(self, division_names: list[str] | None = None, **kw):
        self.division_names = division_names
        names = division_names if division_names is not None else load_divisions().names
        alt = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
        patterns = (
            Pattern(
                "division", rf"(?P<anchor>(?:{alt}){_ADMIN_SUFFIX}?)(?:{_COMPONENT}){{1,12}}", 0.55
            ),
            # No known division first, but an admin unit and two more components (朝阳区建国路88号).
            Pattern("unanchored", rf"{_BODY}{{2,4}}(?:区|县|镇)(?:{_COMPONENT}){{2,12}}", 0.4),
        )
        super().__init__(patterns=patterns, **kw)

    def analyze(self, text: str, hints: frozenset[str] = frozenset()) -> list[Finding]:
        out: list[Finding] = []
        covered: list[tuple[int, int]] = []
        for pattern in self._patterns:
            for m in pattern.compiled.finditer(text):
                start, end = m.span()
                if any(s <= start and end <= e for s, e in covered):
                    continue
                if pattern.name == "division":  # the anchor, then what follows it
                    n = 1 + len(_COMPONENT_RX.findall(text, m.end("anchor"), end))
                else:
                    n = len(_COMPONENT_RX.findall(text, start, end))
                if n < 2:
                    continue
                score = self.SCORES.get(n, 0.85)
                if pattern.name == "unanchored":
                    score -= self.UNANCHORED_PENALTY
                covered.append((start, end))
                f = Finding(
                    self._entity,
                    start,
                    end,
                    score,
                    self._name,
                    pattern.name,
                    m.group(0),
                    score,
                    validation=f"{n} address components",
                )
                out.append(self.enhance(text, f, hints))
        return out
