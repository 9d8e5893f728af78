// ODK Web Forms' engine (@getodk/xforms-engine) run headless: a person's session with a form, for tests.
//
// stdin: {"cases": [case, ...]}; stdout: {"results": [result, ...]} (one JSON document each way), or with
// --serve one such request per line and one answer per line, for as long as stdin stays open.
// case: {
//   "form": "<h:html ...>" (the XForm as served),
//   "media": {"facilities.csv": "text", ...} (form attachments as served by the manifest),
//   "language": "vi" | "en" (the form language whose name ends in "(vi)" / "(en)"),
//   "answers": {"question name": value, ...}  given in any order; filled in form order,
//   "files": {"file name": {"type": "image/jpeg", "base64": "..."}} for upload questions,
//   "edit": {"xml": "<data ...>", "attachments": {"name": {"type", "base64"}}}  edit a submitted instance
// }
// Values as a person enters them: text and dates as strings, numbers as numbers, a select_one's choice
// name, a select_multiple's list of names, a geopoint {lat, lon, alt?, accuracy_m?}, an upload's file name.
// result: {
//   "languages": [...], "questions": [{name, ref, kind, relevant, required, readonly, value, violation}],
//   "not_relevant_given": [names answered but not relevant when the person reached them],
//   "unknown_given": [names that are no question of the form], "rejected": [{name, error}],
//   "status": "ready" | "pending", "violations": [{name, ref, condition, message}],
//   "xml": the submission instance, "instance_id": "uuid:...", "attachments": [{name, type, base64}]
// }
// A person fills a form top to bottom: each question is reached in document order and answered only if it
// is relevant at that moment (relevance is recomputed by the engine after every answer).
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const { window } = new JSDOM('');
for (const name of ['DOMParser', 'XMLSerializer', 'Node', 'Document', 'Element', 'Attr', 'Text', 'document', 'NodeFilter', 'XPathResult']) {
	if (globalThis[name] === undefined && window[name] !== undefined) globalThis[name] = window[name];
}
// The engine's bundled tree-sitter (emscripten) takes its Node code path, which expects CommonJS globals.
globalThis.__dirname ??= process.cwd();
globalThis.module ??= { exports: {} };

const { loadForm } = await import('@getodk/xforms-engine');

const forms = new Map();

async function load(xml, media) {
	const key = xml + '\u0000' + JSON.stringify(media ?? {});
	if (!forms.has(key)) {
		const result = await loadForm(xml, {
			fetchFormAttachment: async (url) => {
				const name = decodeURIComponent(String(url).replace(/^jr:\/\/[^/]+\//, ''));
				if (!media || !(name in media)) return new Response('', { status: 404 });
				return new Response(media[name], { status: 200, headers: { 'Content-Type': 'text/csv' } });
			},
		});
		if (result.status !== 'success') throw new Error(`the engine could not load the form: ${result.error?.message}`);
		forms.set(key, result);
	}
	return forms.get(key);
}

const nameOf = (node) => node.currentState.reference.split('/').pop();
const QUESTION_TYPES = new Set(['input', 'select', 'upload', 'range', 'rank', 'trigger']);

function* leaves(node) {
	for (const child of node.currentState.children ?? []) {
		if (child.nodeType === 'group' || child.nodeType === 'subtree') yield* leaves(child);
		else yield child;
	}
}

function toFile(name, spec) {
	return new File([Buffer.from(spec.base64 ?? '', 'base64')], name, { type: spec.type ?? 'application/octet-stream' });
}

function enter(node, value, files) {
	if (node.nodeType === 'select') {
		if (Array.isArray(value)) node.selectValues(value.map(String));
		else node.selectValue(value == null ? null : String(value));
		return;
	}
	if (node.nodeType === 'upload') {
		if (value == null) return node.setValue(null);
		const spec = files?.[value];
		if (!spec) throw new Error(`no file named ${value} was given in "files"`);
		node.setValue(toFile(String(value), spec));
		return;
	}
	if (node.valueType === 'geopoint' && value && typeof value === 'object') {
		node.setValue({ latitude: value.lat, longitude: value.lon, altitude: value.alt ?? null, accuracy: value.accuracy_m ?? null });
		return;
	}
	node.setValue(value);
}

function violationOf(node) {
	const v = node.validationState?.violation;
	return v ? { condition: v.condition, message: v.message?.asString ?? null } : null;
}

async function run(c) {
	const form = await load(c.form, c.media);
	let instance;
	if (c.edit) {
		const attachments = new Map(Object.entries(c.edit.attachments ?? {}).map(([name, spec]) =>
			[name, async () => new Response(Buffer.from(spec.base64, 'base64'), { headers: { 'Content-Type': spec.type } })]));
		instance = await form.editInstance({
			inputType: 'FORM_INSTANCE_INPUT_RESOLVABLE',
			resolveInstance: () => c.edit.xml,
			attachments,
		});
	} else {
		instance = form.createInstance();
	}
	const root = instance.root;
	const languages = root.languages.map((l) => l.language);
	if (c.language) {
		const wanted = root.languages.find((l) => l.language.endsWith(`(${c.language})`));
		if (!wanted) throw new Error(`the form has no language (${c.language}); it has ${languages.join(', ')}`);
		root.setLanguage(wanted);
	}
	const answers = c.answers ?? {};
	const seen = new Set();
	const notRelevant = [];
	const rejected = [];
	for (const node of leaves(root)) {
		if (!QUESTION_TYPES.has(node.nodeType)) continue;
		const name = nameOf(node);
		seen.add(name);
		if (!(name in answers)) continue;
		if (!node.currentState.relevant) {
			notRelevant.push(name);
			continue;
		}
		try {
			enter(node, answers[name], c.files);
		} catch (err) {
			rejected.push({ name, error: String(err?.message ?? err) });
		}
	}
	const questions = [];
	for (const node of leaves(root)) {
		const s = node.currentState;
		questions.push({
			name: nameOf(node), ref: s.reference, kind: node.nodeType, valueType: node.valueType ?? null,
			relevant: s.relevant, required: s.required, readonly: s.readonly,
			value: s.instanceValue ?? null, violation: violationOf(node),
		});
	}
	const payload = await root.prepareInstancePayload();
	const data = payload.data[0];
	let xml = null;
	const attachments = [];
	for (const [field, file] of data.entries()) {
		if (field === 'xml_submission_file') xml = await file.text();
		else attachments.push({ name: file.name, type: file.type, base64: Buffer.from(await file.arrayBuffer()).toString('base64') });
	}
	const violations = (payload.violations ?? []).filter((v) => v.violation).map((v) => ({
		name: v.reference.split('/').pop(), ref: v.reference, condition: v.violation.condition,
		message: v.violation.message?.asString ?? null,
	}));
	const idNode = [...leaves(root)].find((n) => n.currentState.reference.endsWith('/meta/instanceID'));
	return {
		languages, questions, status: payload.status, violations, xml, attachments,
		not_relevant_given: notRelevant, rejected,
		unknown_given: Object.keys(answers).filter((k) => !seen.has(k)),
		instance_id: idNode ? idNode.currentState.value : null,
	};
}

async function answer(input) {
	const results = [];
	for (const c of input.cases) {
		try {
			results.push(await run(c));
		} catch (err) {
			results.push({ error: String(err?.stack ?? err) });
		}
	}
	return JSON.stringify({ results });
}

if (process.argv.includes('--serve')) {
	// One request per line on stdin, one answer per line on stdout, until stdin closes (the engine and its
	// parsed forms stay loaded between requests).
	const { createInterface } = await import('node:readline');
	for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
		if (line.trim()) process.stdout.write((await answer(JSON.parse(line))) + '\n');
	}
} else {
	process.stdout.write(await answer(JSON.parse(readFileSync(0, 'utf8'))));
}
