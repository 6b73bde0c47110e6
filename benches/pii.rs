//! NFKC + PII stripping of a 1 KiB prompt, with and without PII.
//!
//! `cargo bench --bench pii`
#![allow(missing_docs)]

use std::time::Duration;

use ai_audit::pii::PiiPolicy;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

const CLEAN: &str = "You are a helpful assistant for an online bookshop. The customer asks \
whether the second edition of the book on distributed systems, released in 2024-03, covers \
consensus protocols such as Raft and Paxos in more depth than the first edition did, and \
whether the exercises at the end of each chapter come with worked solutions. They also want \
to know if version 2.1 of the companion code still builds with the current toolchain, how \
long shipping to another country usually takes, and whether a discount applies to orders of \
three or more copies placed before the end of the month. Please answer briefly and politely, \
citing the product page where possible, and do not invent prices, delivery dates or stock \
levels that are not in the catalogue. If the answer is unknown, say so and suggest that the \
customer contacts the support team through the help centre rather than guessing. Keep the \
tone friendly, avoid jargon, and format the reply as a short list of points with one point \
per question asked. Thank you for your help with this request today!!";

const WITH_PII: &str = "You are a helpful assistant for an online bookshop. The customer, \
reachable at jane.doe@example.com or +44 20 7946 0958, asks whether the second edition of \
the book on distributed systems, released in 2024-03, covers consensus protocols such as Raft \
and Paxos in more depth. They paid with card 4111 1111 1111 1111 and want a refund to IBAN \
DE89 3704 0044 0532 0130 00 instead. Their last login came from 192.168.10.20 using key \
sk-proj-abc123DEF456ghi789JKL012mno345. They also want to know if version 2.1 of the \
companion code still builds with the current toolchain, how long shipping to another country \
usually takes, and whether a discount applies to orders of three or more copies placed before \
the end of the month. Please answer briefly and politely, citing the product page where \
possible, and do not invent prices, delivery dates or stock levels that are not in the \
catalogue. If the answer is unknown, say so and suggest contacting the support team through \
the help centre. Keep the tone friendly, avoid jargon, and use a short list.";

fn bench(c: &mut Criterion) {
    let policy = PiiPolicy::default();
    let mut g = c.benchmark_group("pii_normalize_and_strip_1k");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(30);
    for (name, text) in [("with_pii", WITH_PII), ("clean", CLEAN)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                policy
                    .normalize_and_strip(black_box(text), None)
                    .map(|s| s.text.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
