//! The knowledge base's cost: building the index of 1 000 entries × 5 questions (what every
//! rules load does), and deciding one message against it (what every user text no rule matched
//! costs), on generated Chinese questions of customer-service words.
//!
//! Run: `cargo bench -p kefu --bench faq`. Results and budgets: docs/benchmarks.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kefu::rules::RuleSet;

const NOUNS: &[&str] = &[
    "订单",
    "退款",
    "发票",
    "优惠券",
    "积分",
    "会员",
    "快递",
    "包裹",
    "地址",
    "手机号",
    "账号",
    "密码",
    "礼品卡",
    "月卡",
    "门店",
    "外卖",
    "配送费",
    "运费",
    "商品",
    "尺码",
    "颜色",
    "库存",
    "价格",
    "活动",
    "赠品",
    "保修",
    "售后",
    "换货",
    "退货",
    "评价",
    "客服",
    "小程序",
    "支付",
    "余额",
    "红包",
    "抬头",
    "税号",
    "营业时间",
    "预约",
    "自提",
    "取餐码",
    "包装",
    "过敏原",
    "热量",
];
const VERBS: &[&str] = &[
    "申请", "查询", "修改", "取消", "使用", "领取", "兑换", "开具", "更换", "绑定", "注销", "投诉",
    "退回", "补发", "延期", "升级", "购买", "预订", "联系", "填写",
];
const ASKS: &[&str] = &[
    "怎么",
    "如何",
    "在哪里",
    "可以",
    "能不能",
    "多久",
    "为什么",
    "是不是",
    "有没有",
    "要多少钱",
];

/// A deterministic generator (no dependency): the same knowledge base every run.
struct Lcg(u64);

impl Lcg {
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let i = usize::try_from(self.0 >> 33).unwrap_or(0) % list.len();
        list.get(i).copied().unwrap_or("")
    }
}

fn knowledge_base(entries: usize, questions: usize) -> String {
    let mut rng = Lcg(7);
    let entries: Vec<serde_json::Value> = (0..entries)
        .map(|n| {
            let (a, b, v) = (rng.pick(NOUNS), rng.pick(NOUNS), rng.pick(VERBS));
            let qs: Vec<String> = (0..questions)
                .map(|_| format!("{}{}{}{}的{}", rng.pick(ASKS), v, a, rng.pick(ASKS), b))
                .collect();
            serde_json::json!({"id": format!("e{n}"), "questions": qs,
                "action": {"reply": [{"type": "text", "content": format!("答案{n}")}]}})
        })
        .collect();
    serde_json::json!({"faq": {"entries": entries}}).to_string()
}

fn bench(c: &mut Criterion) {
    let json = knowledge_base(1000, 5);
    c.bench_function("faq: build the index, 1 000 entries × 5 questions", |b| {
        b.iter(|| {
            let rules = RuleSet::from_json(black_box(&json)).expect("valid");
            black_box(
                rules
                    .faq
                    .as_ref()
                    .map(|f| f.index().lexicon().tokens("x").len()),
            )
        })
    });
    let rules = RuleSet::from_json(&json).expect("valid");
    let faq = rules.faq.as_ref().expect("a faq");
    let messages = [
        "请问我的退款怎么还没到账啊，已经等了好几天了",
        "优惠券在哪里领",
        "发票抬头写错了能改吗",
        "在吗",
        "你们家的外卖配送费要多少钱",
    ];
    c.bench_function(
        "faq: decide one message, 1 000 entries × 5 questions",
        |b| {
            let mut n = 0;
            b.iter(|| {
                n = (n + 1) % messages.len();
                black_box(faq.decide(black_box(messages.get(n).copied().unwrap_or(""))))
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
