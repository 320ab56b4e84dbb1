"""A plain keyword baseline for the SMS categories (for the bench's
comparison): the first category whose keywords occur in the text, else the
most frequent category (AD:Retail). Keywords chosen by hand from what each
category is about, not fitted to the data."""

from __future__ import annotations

from fbsdetect.sms.model import normalise

KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("IL:Escort_service", ("小姐", "上门", "按摩", "特殊服务", "学生妹", "包夜")),
    ("IL:Political_propaganda", ("法轮", "共产党", "三退", "退党", "大法", "真相")),
    ("IL:Fake_ID_and_invoice", ("发票", "办证", "文凭", "证件", "刻章", "驾驶证")),
    ("IL:Gambling", ("博彩", "娱乐", "彩金", "六合", "投注", "赌", "百家乐", "真人", "特码")),
    ("FR:Phishing(Bank)", ("银行", "积分", "兑换", "网银", "信用卡", "工行", "建行", "农行", "账户")),
    ("FR:Phishing(Other)", ("中奖", "领取", "奖品", "幸运")),
    ("FR:Financial", ("股票", "牛股", "涨停", "理财", "投资")),
    ("FR:Other", ("汇款", "转账", "打到", "卡号", "账号")),
    ("AD:Loan", ("贷款", "借款", "放款", "无抵押", "额度")),
    ("AD:Real_estate", ("楼盘", "房", "首付", "户型", "售楼")),
    ("AD:Network_service", ("流量", "宽带", "话费", "移动", "联通", "电信", "套餐")),
    ("AD:Retail", ("折", "优惠", "会员", "退订", "特价", "促销", "店")),
)
DEFAULT = "AD:Retail"


def predict(text: str) -> str:
    t = normalise(text)
    for cat, words in KEYWORDS:
        if any(w in t for w in words):
            return cat
    return DEFAULT
