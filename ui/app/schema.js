// Form validation from the API's own schema (/api2/openapi.json), fetched once when the first form needs it.

let schemaPromise = null;

function loadSchema() {
    if (!schemaPromise) {
        schemaPromise = fetch('/api2/openapi.json', { credentials: 'same-origin' })
            .then((r) => (r.ok ? r.json() : null))
            .catch(() => null);
    }
    return schemaPromise;
}

/** Parameter schemas {name: schema} of one operation, e.g. ('PUT', '/nodes/{node}/qemu/{vmid}/config'). */
export async function paramSchemas(method, template) {
    const doc = await loadSchema();
    const op = doc && doc.paths && doc.paths[`/api2/json${template}`] && doc.paths[`/api2/json${template}`][method.toLowerCase()];
    if (!op) return {};
    const out = {};
    for (const p of op.parameters || []) out[p.name] = { ...p.schema, required: p.required };
    const content = op.requestBody && op.requestBody.content;
    const body = content && (content['application/x-www-form-urlencoded'] || content['application/json']);
    if (body && body.schema && body.schema.properties) {
        const required = new Set(body.schema.required || []);
        for (const [name, schema] of Object.entries(body.schema.properties)) {
            out[name] = { ...schema, required: required.has(name) };
        }
    }
    return out;
}

/** Checks one value against its schema; returns an error text or null. Empty optional values pass. */
export function checkValue(schema, value) {
    if (!schema) return null;
    if (value === undefined || value === null || value === '') return schema.required ? 'This field is required.' : null;
    const s = String(value);
    if (schema.type === 'integer' || schema.type === 'number') {
        const n = Number(s);
        if (s.trim() === '' || Number.isNaN(n)) return 'Enter a number.';
        if (schema.type === 'integer' && !Number.isInteger(n)) return 'Enter a whole number.';
        if (schema.minimum !== undefined && n < schema.minimum) return `Must be at least ${schema.minimum}.`;
        if (schema.maximum !== undefined && n > schema.maximum) return `Must be at most ${schema.maximum}.`;
    }
    if (schema.enum && !schema.enum.map(String).includes(s)) return `Must be one of: ${schema.enum.join(', ')}.`;
    if (schema.maxLength !== undefined && s.length > schema.maxLength) return `At most ${schema.maxLength} characters.`;
    if (schema.minLength !== undefined && s.length < schema.minLength) return `At least ${schema.minLength} characters.`;
    if (schema.pattern) {
        try {
            if (!new RegExp(`^(?:${schema.pattern})$`).test(s)) return 'Invalid format.';
        } catch { /* a pattern JS cannot read: leave it to the server */ }
    }
    if (schema['x-pve-format'] === 'dns-name' && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(s)) {
        return 'Letters, digits, dots and dashes (a DNS name).';
    }
    return null;
}

/** Validates a params object; returns {param: message} for the fields that fail. */
export async function validate(method, template, params) {
    const schemas = await paramSchemas(method, template);
    const errors = {};
    for (const [name, value] of Object.entries(params)) {
        const err = checkValue(schemas[name], value);
        if (err) errors[name] = err;
    }
    return errors;
}
