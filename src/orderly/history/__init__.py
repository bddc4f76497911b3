"""History: every event of an order, kept in the order it arrived, and the projections made from
it (seed 004's event store and its order view, analytics and reporting)."""
