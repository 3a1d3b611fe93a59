"""Reference data of the seed district: Xiqing District (西青区), Tianjin, 11 streets and towns.

Community names are illustrative, not an official list.
"""

from __future__ import annotations

from typing import Final

# (code, name_zh, name_en, communities)
XIQING_STREETS: Final[tuple[tuple[str, str, str, tuple[str, ...]], ...]] = (
    ("xiyingmen", "西营门街道", "Xiyingmen Subdistrict", ("富力城社区", "文欣里社区", "南马营社区")),
    ("liqizhuang", "李七庄街道", "Liqizhuang Subdistrict", ("梨园头社区", "阳光星期八社区")),
    ("chilongnan", "赤龙南街道", "Chilongnan Subdistrict", ("赤龙苑社区", "德馨园社区", "学府花园社区")),
    ("jinmenhu", "津门湖街道", "Jinmenhu Subdistrict", ("津门湖新里社区", "水岸嘉园社区")),
    ("zhongbei", "中北镇", "Zhongbei Town", ("中北斜社区", "万科城社区", "曹庄子社区")),
    ("yangliuqing", "杨柳青镇", "Yangliuqing Town", ("石家大院社区", "柳口路社区", "御河湾社区")),
    ("xinkou", "辛口镇", "Xinkou Town", ("辛口社区", "第六埠社区")),
    ("zhangjiawo", "张家窝镇", "Zhangjiawo Town", ("张家窝社区", "田丽园社区", "丽锦园社区")),
    ("jingwu", "精武镇", "Jingwu Town", ("精武社区", "付村社区")),
    ("dasi", "大寺镇", "Dasi Town", ("大寺社区", "王村社区", "青凝侯社区")),
    ("wangwenzhuang", "王稳庄镇", "Wangwenzhuang Town", ("王稳庄社区", "小孙庄社区")),
)
