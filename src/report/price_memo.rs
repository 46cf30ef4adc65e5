//! Pricing for `report` and `advise`: each model's card looked up once.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::Request;
use crate::pricing::{ModelPrice, PriceTable, Priced};

/// Each model's card, looked up once (a lookup may try several id forms),
/// by the model's name number; for `report` and `advise`.
pub(crate) struct PriceMemo<'a> {
    prices: &'a PriceTable,
    cards: Vec<Option<Option<&'a ModelPrice>>>,
}

impl<'a> PriceMemo<'a> {
    pub(crate) fn new(prices: &'a PriceTable, names: usize) -> PriceMemo<'a> {
        PriceMemo { prices, cards: vec![None; names] }
    }

    /// A request's cost: its stated cost when the log gives one, else its
    /// model's card at `at`; $0 and unpriced for a model with no price.
    pub(crate) fn price(&mut self, r: &Request, model: &str, at: DateTime<Utc>) -> Priced {
        if let Some(cost) = r.stated_cost {
            return Priced { cost, priced: true };
        }
        match self.card(r.model, model) {
            Some(card) => Priced { cost: card.cost(&r.tokens, u64::from(r.web_searches), &r.modifiers, at), priced: true },
            None => Priced { cost: Decimal::ZERO, priced: false },
        }
    }

    fn card(&mut self, number: u32, model: &str) -> Option<&'a ModelPrice> {
        let prices = self.prices;
        let lookup = || prices.lookup(model).map(|(_, card, _)| card);
        match self.cards.get_mut(number as usize) {
            Some(slot) => *slot.get_or_insert_with(lookup),
            None => lookup(),
        }
    }
}
