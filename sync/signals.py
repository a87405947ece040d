"""Signal handlers: a change of a setting, an override or the VAT mapping re-queues the invoices it affects."""
