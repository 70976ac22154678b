//! The simulated GoTo account: users with lines and devices, company phone numbers, queues and
//! outside callers. A pure function of the seed, so two sandboxes with one seed agree on it.

use super::rng::{SplitMix64, hash, numeric_key, uuid_from};

/// A user with one line and one desk phone.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub name: String,
    pub extension: String,
    pub line_id: String,
    pub user_id: String,
    pub user_key: String,
    pub device_id: String,
    pub device_model: &'static str,
}

/// A company DID (a GoTo "phone number") with its voicemail box.
#[derive(Debug, Clone)]
pub(crate) struct Did {
    pub phone_number_id: String,
    pub number: String,
    pub voicemail_box_id: String,
}

/// A call queue.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    pub queue_id: String,
    pub name: &'static str,
    pub extension: String,
}

/// Somebody outside the company, on the PSTN.
#[derive(Debug, Clone)]
pub(crate) struct Outsider {
    pub name: &'static str,
    pub number: String,
}

/// Everything the call generator draws from.
#[derive(Debug, Clone)]
pub(crate) struct Directory {
    pub account_key: String,
    pub people: Vec<Person>,
    pub dids: Vec<Did>,
    pub queues: Vec<Queue>,
    pub outsiders: Vec<Outsider>,
    pub dial_plan_id: String,
}

const DOMAIN: u64 = 0xD1EC_7041;
const MODELS: [&str; 3] = ["Yealink T54W", "Polycom VVX 450", "GoTo Connect App"];
const QUEUE_NAMES: [&str; 3] = ["Operator", "Support", "Sales"];
const OUTSIDER_NAMES: [&str; 6] = [
    "PROBE CALLER",
    "WIRELESS CALLER",
    "ACME SUPPLY",
    "J SMITH",
    "",
    "TOLL FREE CALLER",
];
const DID_PREFIXES: [&str; 3] = ["+1870935", "+1800258", "+1617555"];

impl Directory {
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = SplitMix64::new(hash(&[seed, DOMAIN]));
        let account_key = numeric_key(&mut rng, 19);
        let people = people(seed, &mut rng);
        let did_count = 2 + rng.below(2) as usize;
        let dids = (0..did_count)
            .map(|k| Did {
                phone_number_id: uuid_from(&[seed, DOMAIN, 2, k as u64], 4),
                number: format!("{}{:04}", DID_PREFIXES[k], rng.below(10_000)),
                voicemail_box_id: uuid_from(&[seed, DOMAIN, 3, k as u64], 4),
            })
            .collect();
        let queues = QUEUE_NAMES
            .iter()
            .enumerate()
            .map(|(k, name)| Queue {
                queue_id: uuid_from(&[seed, DOMAIN, 4, k as u64], 4),
                name,
                extension: (1100 + 7 * k as u64 + rng.below(7)).to_string(),
            })
            .collect();
        let outsiders = OUTSIDER_NAMES
            .iter()
            .enumerate()
            .map(|(k, name)| Outsider {
                name,
                number: format!("+120155501{:02}", k as u64 * 10 + rng.below(10)),
            })
            .collect();
        Directory {
            account_key,
            people,
            dids,
            queues,
            outsiders,
            dial_plan_id: uuid_from(&[seed, DOMAIN, 5], 4),
        }
    }
}

/// Eight users with distinct four-digit extensions, named after them like GoTo test accounts.
fn people(seed: u64, rng: &mut SplitMix64) -> Vec<Person> {
    let mut extension = 8600 + rng.below(100);
    (0..8u64)
        .map(|k| {
            extension += 1 + rng.below(6);
            Person {
                name: format!("Test Person {extension}"),
                extension: extension.to_string(),
                line_id: uuid_from(&[seed, DOMAIN, 10, k], 4),
                user_id: uuid_from(&[seed, DOMAIN, 11, k], 4),
                user_key: numeric_key(rng, 19),
                device_id: uuid_from(&[seed, DOMAIN, 12, k], 4),
                device_model: MODELS[rng.below(MODELS.len() as u64) as usize],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_directory() {
        let a = Directory::new(42);
        let b = Directory::new(42);
        assert_eq!(a.account_key, b.account_key);
        assert_eq!(a.people[3].line_id, b.people[3].line_id);
        assert_ne!(Directory::new(43).account_key, a.account_key);
        assert_eq!(a.account_key.len(), 19);
        let mut exts: Vec<_> = a.people.iter().map(|p| p.extension.clone()).collect();
        exts.dedup();
        assert_eq!(exts.len(), 8);
    }
}
