// Express + busboy parser app for cardproxy's parser-differential suite
// (difftest/). Run: node app.js PORT. Answers 200 with every string it
// decoded — express.json() (default type), express.urlencoded({extended:
// true}) (qs brackets), busboy multipart fields and file contents,
// req.query, headers, cookies (Cookie header parsed), path — tagged by
// source. GET /__count: requests seen.
'use strict';
const express = require('express');
const busboy = require('busboy');

let count = 0;
const app = express();

function add(out, src, name, v) {
  if (Array.isArray(v)) {
    v.forEach((vv, i) => add(out, src, `${name}[${i}]`, vv));
  } else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      out.push([src + '.key', name, k]);
      add(out, src, name ? `${name}.${k}` : k, v[k]);
    }
  } else {
    out.push([src, name, String(v)]);
  }
}

app.get('/__count', (req, res) => res.json({ count }));
app.use((req, res, next) => { count++; req.items = []; next(); });
app.use(express.json());
app.use(express.urlencoded({ extended: true }));
app.use((err, req, res, next) => { req.items.push(['error', 'body-parser', String(err.type || err.name)]); next(); });
app.use((req, res, next) => {
  if (!/multipart\//i.test(req.headers['content-type'] || '')) return next();
  let done = false;
  const finish = () => { if (!done) { done = true; next(); } };
  let bb;
  try {
    bb = busboy({ headers: req.headers });
  } catch (e) {
    req.items.push(['error', 'busboy', e.name]);
    return finish();
  }
  const pending = [];
  bb.on('field', (name, val) => { req.items.push(['busboy.field.name', name, name]); req.items.push(['busboy.field', name, val]); });
  bb.on('file', (name, file, info) => {
    req.items.push(['busboy.file.name', name, name]);
    req.items.push(['busboy.file.filename', name, String(info.filename)]);
    const chunks = [];
    pending.push(new Promise((resolve) => {
      file.on('data', (d) => chunks.push(d));
      file.on('close', () => { req.items.push(['busboy.file.content', name, Buffer.concat(chunks).toString('utf8')]); resolve(); });
      file.on('error', resolve);
    }));
  });
  bb.on('close', () => Promise.all(pending).then(finish));
  bb.on('error', (e) => { req.items.push(['error', 'busboy', e.name]); Promise.all(pending).then(finish); });
  req.pipe(bb);
});
app.use((req, res) => {
  const out = req.items;
  add(out, 'req.query', '', req.query);
  if (req.body !== undefined) add(out, 'req.body', '', req.body);
  add(out, 'headers', '', req.headers);
  for (const c of (req.headers.cookie || '').split(';')) {
    const i = c.indexOf('=');
    if (i < 0) continue;
    const k = c.slice(0, i).trim();
    let v = c.slice(i + 1).trim();
    try { v = decodeURIComponent(v); } catch (e) { /* keep raw */ }
    out.push(['cookies.key', k, k]);
    out.push(['cookies', k, v]);
  }
  let p = req.path;
  try { p = decodeURIComponent(p); } catch (e) { /* keep raw */ }
  out.push(['path', 'path', p]);
  res.set('X-Parser', 'express');
  res.json({ parser: 'express', items: out });
});

const port = Number(process.argv[2]);
app.listen(port, '127.0.0.1', () => console.log(`express app on port ${port}`));
