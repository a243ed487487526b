// MultiSafepay's official Node SDK (@multisafepay/api-wrapper) through
// cardproxy's egress. The one change: the base URL. The SDK only knows its
// test and live URLs, chosen in the constructor; this line picks the egress.
import msp from '@multisafepay/api-wrapper';
import { input, run } from './lib.mjs';

const MSPClient = msp.default;
MSPClient.prototype.setEnviorement = () => { MSPClient.baseURL = input.base + '/v1/json/'; };

const client = new MSPClient(input.key, { environment: 'test' });

function order() {
  return {
    type: 'direct', gateway: 'VISA', order_id: input.order_id, currency: 'EUR', amount: 1000,
    description: 'SDK conformance order',
    payment_options: {
      notification_url: input.notify, redirect_url: 'https://shop.example/ok',
      cancel_url: 'https://shop.example/cancel',
    },
    customer: { locale: 'nl_NL', browser: { user_agent: 'sdktest' } },
    gateway_info: {
      card_number: input.pan, // cp_pan_… token
      card_holder_name: 'Jan Janssen',
      // The app's own YYMM, or the PAN token: cardproxy fills in the stored expiry.
      card_expiry_date: input.expiry ?? input.pan,
      card_cvc: input.cvc, // cp_cvc_… token
    },
  };
}

// The SDK resolves (does not throw) with {error_code, error_info} for
// MultiSafepay's errors and with the axios error for any other HTTP error
// (cardproxy's refusals: {"error", "message"}).
async function call(p) {
  const r = await p;
  if (r instanceof Error) {
    throw r;
  }
  if (r.error_code !== undefined) {
    throw Object.assign(new Error('msp'), { msp: r });
  }
  return r;
}

const ops = {
  order: async () => {
    const r = await call(client.orders.create(order()));
    const d = r.data;
    return { success: r.success, order_id: d.order_id, transaction_id: d.transaction_id, status: d.status,
      payment_url: d.payment_url ?? null, card: d.payment_details?.type, last4: d.payment_details?.last4 };
  },
  get: async () => {
    const r = await call(client.orders.get(input.order_id));
    return { success: r.success, order_id: r.data.order_id, status: r.data.status };
  },
  refund: async () => {
    const r = await call(client.refunds.create(input.order_id, { currency: 'EUR', amount: 1000, description: 'SDK refund' }));
    return { success: r.success, refund_id: r.data.refund_id, transaction_id: r.data.transaction_id };
  },
};

await run(ops[input.op], (err) => {
  if (err.msp) {
    return { status: null, error: err.msp };
  }
  if (err.response) {
    return { status: err.response.status, error: err.response.data };
  }
  return undefined;
});
