/** The village's catalogue on the ledger API (catalogue.ts keeps the table). */
import { Type } from '@fastify/type-provider-typebox';
import { fieldError } from './governance/rules.ts';
import { gate, Id, VillageParams, type GovApp, type GovDeps } from './governance/access.ts';
import { ProductBodySchema } from '../protocol/payloads.ts';
import { villageCatalogue } from './catalogue.ts';

const Sku = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });
const { sku: _sku, ...productFields } = ProductBodySchema.properties;
const ProductFields = Type.Object(productFields, { additionalProperties: false });

/**
 * `GET /api/villages/:village/products` (the town or the village) and
 * `PUT /api/villages/:village/products/:sku` (the village): recorded, then published on the stream.
 */
export function registerCatalogueRoutes(app: GovApp, deps: GovDeps): void {
  app.get('/api/villages/:village/products', { schema: { params: VillageParams } }, async (req) => {
    gate(deps, req, req.params.village, 'read');
    return { products: await villageCatalogue(deps.db, req.params.village) };
  });
  app.put('/api/villages/:village/products/:sku', { schema: { params: Type.Object({ village: Id, sku: Sku }), body: ProductFields } }, async (req) => {
    gate(deps, req, req.params.village, 'manage');
    const b = req.body;
    // As the store checks its own (edge/ledger/products.ts validateProduct): a count must be unambiguous.
    if (b.tolerance_g * 2 >= b.unit_g) throw fieldError('tolerance_g', `tolerance_g (${b.tolerance_g}) must be less than half of unit_g (${b.unit_g})`, '重量误差必须小于单件重量的一半');
    if (b.name.trim() === '') throw fieldError('name', 'a product name must not be blank', '商品名称不能为空');
    const published = await deps.service.publishOnStream(req.params.village, 'product', { sku: req.params.sku, ...b, name: b.name.trim() });
    return { sku: req.params.sku, published };
  });
}
