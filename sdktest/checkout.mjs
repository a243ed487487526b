// Checkout.com's official Node SDK (checkout-sdk-node) through cardproxy's
// egress. The one change: the base URL, as the SDK's host option.
import { Checkout } from 'checkout-sdk-node';
import { input, run } from './lib.mjs';

const cko = new Checkout(input.key, { host: input.base });

await run(async () => {
  const p = await cko.payments.request({
    source: {
      type: 'card',
      number: input.pan, // cp_pan_… token
      expiry_month: 12,
      expiry_year: 2030,
      cvv: input.cvc, // cp_cvc_… token
      name: 'Jane Doe',
    },
    amount: 1000,
    currency: 'EUR',
    reference: input.reference,
  });
  return { id: p.id, status: p.status, approved: p.approved, response_code: p.response_code, source: p.source,
    reference: p.reference, requiresRedirect: p.requiresRedirect };
}, (err) => {
  if (err.http_code === undefined) {
    return undefined;
  }
  return { status: err.http_code, error: err.body ?? null };
});
