// History graphs from an rrddata endpoint, with a time-frame choice; refreshed every minute.
import { h } from '../dom.js';
import { get } from '../api.js';
import { createChart } from './chart.js';
import { bytes, percent, rate } from '../format.js';

export const FORMATS = { percent: (v) => percent(v, 0), bytes: (v) => bytes(v, 1), rate: (v) => rate(v), number: (v) => Number(v).toFixed(2) };

const FRAMES = [['hour', 'Hour'], ['day', 'Day'], ['week', 'Week'], ['month', 'Month'], ['year', 'Year']];

/** defs: [{title, series: [{key, label, value?}], format: 'percent'|'bytes'|'rate'|'number', max?}] */
export function rrdGraphs(path, defs) {
    const charts = defs.map((d) => createChart({ title: d.title, series: d.series, format: FORMATS[d.format] || String, max: d.max }));
    const frame = h('select', { 'aria-label': 'Time frame', class: 'frame-select' }, FRAMES.map(([v, l]) => h('option', { value: v }, l)));
    frame.value = localStorage.getItem('vireo.rrd.frame') || 'hour';
    const status = h('span', { class: 'dim' });
    const el = h('section', { class: 'rrd' },
        h('div', { class: 'graphs-head' }, h('h2', null, 'History'), frame, h('span', { class: 'dim' }, 'averages'), status),
        h('div', { class: 'graphs' }, charts.map((c) => c.el)));
    let timer = null;
    let gone = false;
    async function load() {
        try {
            const rows = await get(path, { timeframe: frame.value, cf: 'AVERAGE' });
            if (gone) return;
            const list = rows || [];
            const sampled = list.filter((r) => Object.keys(r).length > 1).length;
            status.textContent = sampled ? '' : 'no samples yet in this time frame';
            charts.forEach((c) => c.setData(list));
        } catch (e) {
            if (!gone) status.textContent = `History unavailable: ${e.message}`;
        }
    }
    frame.addEventListener('change', () => { localStorage.setItem('vireo.rrd.frame', frame.value); load(); });
    load();
    timer = setInterval(load, 60000);
    return { el, reload: load, dispose() { gone = true; clearInterval(timer); charts.forEach((c) => c.dispose()); } };
}
