// Stripe's official Node SDK (stripe) through cardproxy's egress. The one
// change: the base URL, as the SDK's host/port/protocol options.
import Stripe from 'stripe';
import { input, run } from './lib.mjs';

const base = new URL(input.base);
const stripe = new Stripe(input.key, { host: base.hostname, port: base.port, protocol: base.protocol.replace(':', '') });

await run(async () => {
  const pm = await stripe.paymentMethods.create({
    type: 'card',
    card: { number: input.pan, exp_month: 12, exp_year: 2030, cvc: input.cvc }, // cp_pan_… and cp_cvc_… tokens
    billing_details: { name: 'Jane Doe' },
  });
  return { id: pm.id, object: pm.object, card: pm.card, metadata: pm.metadata, status: pm.lastResponse.statusCode };
}, (err) => {
  // cardproxy's refusal {"error": "unknown_token", "message": …} reaches the
  // app as a StripeOAuthError (the SDK reads a string "error" as OAuth's):
  // the code is its rawType, the message is not kept.
  if (err.statusCode === undefined) {
    return undefined;
  }
  return { status: err.statusCode, error: { error: err.rawType, type: err.type } };
});
