// A small time-series chart on canvas: a few lines, a filled first series, time axis, hover read-out.
import { h, setText } from '../dom.js';

const pad2 = (n) => String(n).padStart(2, '0');
const hhmm = (t) => { const d = new Date(t * 1000); return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`; };

/**
 * createChart({title, series: [{key, label, value?(row)}], format(v), max?(rows)}) → {el, setData(rows), dispose()}
 * rows: [{time, ...}] as rrddata returns them; rows without values are gaps.
 */
export function createChart({ title, series, format = String, max }) {
    const canvas = h('canvas', { class: 'chart-canvas', role: 'img', 'aria-label': title });
    const readout = h('div', { class: 'chart-readout' });
    const legend = h('div', { class: 'chart-legend' }, series.map((s, i) =>
        h('span', { class: `legend-item s${i}` }, h('i', { class: 'swatch' }), s.label)));
    const el = h('figure', { class: 'chart' }, h('figcaption', null, h('span', { class: 'chart-title' }, title), legend, readout), h('div', { class: 'chart-box' }, canvas));
    let rows = [];
    let hover = -1;

    const valueOf = (s, row) => {
        const v = s.value ? s.value(row) : row[s.key];
        return v === undefined || v === null || Number.isNaN(Number(v)) ? null : Number(v);
    };

    function colors() {
        const cs = getComputedStyle(el);
        return {
            lines: [cs.getPropertyValue('--chart-1'), cs.getPropertyValue('--chart-2'), cs.getPropertyValue('--chart-3')].map((c) => c.trim() || '#2563eb'),
            grid: cs.getPropertyValue('--border').trim() || '#ddd',
            text: cs.getPropertyValue('--text-dim').trim() || '#666',
            font: `11px ${cs.fontFamily}`,
        };
    }

    function draw() {
        const rect = canvas.getBoundingClientRect();
        if (!rect.width || !rect.height) return;
        const dpr = window.devicePixelRatio || 1;
        if (canvas.width !== Math.round(rect.width * dpr) || canvas.height !== Math.round(rect.height * dpr)) {
            canvas.width = Math.round(rect.width * dpr);
            canvas.height = Math.round(rect.height * dpr);
        }
        const ctx = canvas.getContext('2d');
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        const W = rect.width;
        const H = rect.height;
        ctx.clearRect(0, 0, W, H);
        const c = colors();
        ctx.font = c.font;
        const left = 58;
        const right = 8;
        const top = 6;
        const bottom = 18;
        const pw = W - left - right;
        const ph = H - top - bottom;
        // A fixed scale (percentages: 0–100 %) stays unless the data goes beyond it.
        const fixed = max ? max(rows) : 0;
        let peak = 0;
        for (const r of rows) for (const s of series) { const v = valueOf(s, r); if (v !== null && v > peak) peak = v; }
        let top_ = peak > fixed ? peak * 1.08 : fixed;
        if (!top_) top_ = 1;
        // Grid and y labels.
        ctx.strokeStyle = c.grid;
        ctx.fillStyle = c.text;
        ctx.lineWidth = 1;
        ctx.textAlign = 'right';
        ctx.textBaseline = 'middle';
        for (let i = 0; i <= 3; i++) {
            const y = Math.round(top + ph - (ph * i) / 3) + 0.5;
            ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(W - right, y); ctx.stroke();
            ctx.fillText(format((top_ * i) / 3), left - 6, y);
        }
        if (rows.length < 2) {
            ctx.textAlign = 'center';
            ctx.fillText('No history yet — values appear as they are sampled', left + pw / 2, top + ph / 2);
            return;
        }
        const t0 = rows[0].time;
        const t1 = rows[rows.length - 1].time;
        const x = (t) => left + ((t - t0) / (t1 - t0 || 1)) * pw;
        const y = (v) => top + ph - (v / top_) * ph;
        // Time labels: about one per 110 px.
        ctx.textAlign = 'center';
        ctx.textBaseline = 'top';
        const n = Math.max(2, Math.floor(pw / 110));
        for (let i = 0; i <= n; i++) {
            const t = t0 + ((t1 - t0) * i) / n;
            ctx.fillText(hhmm(t), Math.min(Math.max(x(t), left + 14), W - right - 14), top + ph + 4);
        }
        series.forEach((s, si) => {
            ctx.strokeStyle = c.lines[si % c.lines.length];
            ctx.lineWidth = 1.5;
            ctx.beginPath();
            let open = false;
            let firstX = null;
            let lastX = null;
            for (const r of rows) {
                const v = valueOf(s, r);
                if (v === null) { open = false; continue; }
                if (!open) { ctx.moveTo(x(r.time), y(v)); open = true; if (firstX === null) firstX = x(r.time); } else ctx.lineTo(x(r.time), y(v));
                lastX = x(r.time);
            }
            ctx.stroke();
            if (si === 0 && firstX !== null) {
                // Light fill under the first series.
                ctx.lineTo(lastX, top + ph);
                ctx.lineTo(firstX, top + ph);
                ctx.closePath();
                ctx.globalAlpha = 0.12;
                ctx.fillStyle = c.lines[0];
                ctx.fill();
                ctx.globalAlpha = 1;
            }
        });
        if (hover >= 0 && rows[hover]) {
            const hx = Math.round(x(rows[hover].time)) + 0.5;
            ctx.strokeStyle = c.text;
            ctx.setLineDash([3, 3]);
            ctx.beginPath(); ctx.moveTo(hx, top); ctx.lineTo(hx, top + ph); ctx.stroke();
            ctx.setLineDash([]);
        }
    }

    function showReadout() {
        const r = rows[hover];
        if (!r) { setText(readout, ''); return; }
        setText(readout, `${hhmm(r.time)}  ` + series.map((s) => `${s.label} ${valueOf(s, r) === null ? '–' : format(valueOf(s, r))}`).join('  '));
    }

    canvas.addEventListener('mousemove', (ev) => {
        if (rows.length < 2) return;
        const rect = canvas.getBoundingClientRect();
        const frac = (ev.clientX - rect.left - 58) / (rect.width - 66);
        hover = Math.max(0, Math.min(rows.length - 1, Math.round(frac * (rows.length - 1))));
        showReadout();
        draw();
    });
    canvas.addEventListener('mouseleave', () => { hover = -1; showReadout(); draw(); });
    const ro = new ResizeObserver(() => draw());
    ro.observe(canvas);
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const themeRedraw = () => requestAnimationFrame(draw);
    mq.addEventListener('change', themeRedraw);
    window.addEventListener('vireo:theme', themeRedraw);

    return {
        el,
        setData(data) {
            // Drop rows where no series has a value (the RRD has no samples there yet) at either end.
            const has = (r) => series.some((s) => valueOf(s, r) !== null);
            let a = 0;
            let b = data.length;
            while (a < b && !has(data[a])) a++;
            while (b > a && !has(data[b - 1])) b--;
            rows = data.slice(a, b);
            draw();
        },
        dispose() { ro.disconnect(); mq.removeEventListener('change', themeRedraw); window.removeEventListener('vireo:theme', themeRedraw); },
    };
}
