// Adyen's official Node library (@adyen/api-library) through cardproxy's
// egress. The one change: the Checkout API's base URL. The library sends
// every request with https.request, so the egress must be HTTPS (Caddy's
// `tls internal`; Node trusts its root through NODE_EXTRA_CA_CERTS).
import adyen from '@adyen/api-library';
import { input, run } from './lib.mjs';

const { Client, CheckoutAPI, EnvironmentEnum } = adyen;
const client = new Client({ apiKey: input.key, environment: EnvironmentEnum.TEST });
const payments = new CheckoutAPI(client).PaymentsApi;
payments.baseUrl = input.base + '/v72';

await run(async () => {
  const r = await payments.payments({
    amount: { currency: 'EUR', value: 1000 },
    reference: input.reference,
    merchantAccount: 'SDKTestMerchant',
    returnUrl: 'https://shop.example/return',
    paymentMethod: {
      type: 'scheme',
      number: input.pan, // cp_pan_… token
      expiryMonth: '03',
      expiryYear: '2030',
      cvc: input.cvc, // cp_cvc_… token
      holderName: 'Jane Doe',
    },
  });
  return { pspReference: r.pspReference, resultCode: r.resultCode, merchantReference: r.merchantReference,
    additionalData: r.additionalData ?? null };
}, (err) => {
  if (err.statusCode === undefined) {
    return undefined;
  }
  let body = err.responseBody;
  try {
    body = JSON.parse(body);
  } catch {
    // not JSON: keep the text
  }
  return { status: err.statusCode, error: body };
});
