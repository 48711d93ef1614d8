"""The fixed ids of the codebook (shared/codebook.md): ten churn reasons and the competitors."""

from types import MappingProxyType

# Order as in the seed study's figure 3.10; the ids are a contract with files and exports.
REASONS = MappingProxyType(
    {
        "relocation": "搬家/拆迁",
        "price": "电信资费贵",
        "other_network": "使用他网宽带",
        "reinstall": "一拆一装",
        "itv_fee": "ITV会员收费贵",
        "slow_speed": "网速慢",
        "poor_service": "电信宽带服务差",
        "bundling": "捆绑业务多",
        "bad_package": "套餐不合理",
        "slow_install": "安装速度慢",
    }
)

COMPETITORS = MappingProxyType(
    {
        "china_mobile": "中国移动",
        "china_unicom": "中国联通",
        "china_broadnet": "中国广电",
        "other_isp": "其他宽带",
        "china_telecom": "中国电信",
        "none": "不用宽带",
        "unknown": "未说明",
    }
)
