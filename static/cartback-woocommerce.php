<?php
/**
 * Plugin Name:       Cartback for WooCommerce
 * Description:       Wins back abandoned carts with Cartback: loads the cart beacon on the storefront, turns Cartback's restore links back into carts, and opens Cartback from WooCommerce → Cartback.
 * Version:           1.2
 * Requires at least: 6.5
 * Requires PHP:      7.4
 * Requires Plugins:  woocommerce
 * Text Domain:       cartback
 * Domain Path:       /languages
 */
defined('ABSPATH') || exit;

const CARTBACK_SETTINGS = 'cartback_settings';  // what the merchant chose: the beacon switch
const CARTBACK_STATUS = 'cartback_status';      // what Cartback last told us about this store
const CARTBACK_DELIVERY_RE = '#^(https?://[^?\#]+?)/webhooks/woocommerce/([0-9]+)$#';

add_action('init', function () {
    load_plugin_textdomain('cartback', false, dirname(plugin_basename(__FILE__)) . '/languages');
});

/*
 * The connection. Connecting a store in Cartback creates order webhooks on it
 * that deliver to CARTBACK/webhooks/woocommerce/<store id>, signed with a
 * secret only this store and Cartback know. So nothing needs setting up here:
 * the webhooks name Cartback's address and the store, and their secret keys
 * the signed links below.
 */
function cartback_connection() {
    if (!class_exists('WC_Data_Store') || !function_exists('wc_get_webhook')) { return null; }
    $fallback = null;
    foreach (WC_Data_Store::load('webhook')->get_webhooks_ids() as $id) {
        $webhook = wc_get_webhook($id);
        if (!$webhook || !preg_match(CARTBACK_DELIVERY_RE, $webhook->get_delivery_url(), $m)) { continue; }
        $connection = ['url' => $m[1], 'store' => (int) $m[2], 'secret' => $webhook->get_secret(),
                       'webhook_status' => $webhook->get_status()];
        if ($connection['webhook_status'] === 'active') { return $connection; }
        $fallback = $fallback ?: $connection;  // disabled after failed deliveries; Cartback re-enables it
    }
    return $fallback;
}

/*
 * A signed query Cartback accepts for one minute: store, issued-at, a fresh
 * nonce, and an HMAC under a key derived from the webhook secret (never the
 * secret itself, so a webhook signature cannot pass for a sign-in). Built
 * here on the server; the secret never reaches the browser.
 */
function cartback_signed_query(array $connection, $now = null, $nonce = null) {
    $now = $now === null ? time() : (int) $now;
    $nonce = $nonce === null ? bin2hex(random_bytes(16)) : (string) $nonce;
    $key = hash_hmac('sha256', 'cartback-admin-handover', $connection['secret'], true);
    $signature = hash_hmac('sha256', $connection['store'] . '.' . $now . '.' . $nonce, $key);
    return http_build_query(['store' => $connection['store'], 'ts' => $now, 'nonce' => $nonce,
                             'sig' => $signature], '', '&');
}

function cartback_open_url(array $connection, $now = null, $nonce = null) {
    return $connection['url'] . '/woocommerce/admin?' . cartback_signed_query($connection, $now, $nonce);
}

function cartback_settings() {
    $saved = get_option(CARTBACK_SETTINGS, []);
    return array_merge(['beacon' => true], is_array($saved) ? $saved : []);
}

function cartback_sanitize_settings(array $input) {
    return ['beacon' => isset($input['beacon']) && sanitize_key(wp_unslash($input['beacon'])) === '1'];
}

function cartback_status() {
    $status = get_option(CARTBACK_STATUS, []);
    return is_array($status) ? $status : [];
}

/** Ask Cartback who this store is and where its beacon reports; remember the answer. */
function cartback_refresh_status(array $connection) {
    $status = array_merge(cartback_status(), ['url' => $connection['url'], 'store' => $connection['store']]);
    $answer = wp_remote_get($connection['url'] . '/woocommerce/plugin/status?' . cartback_signed_query($connection),
                            ['timeout' => 5]);
    $body = json_decode((string) wp_remote_retrieve_body($answer), true);
    if ((int) wp_remote_retrieve_response_code($answer) === 200 && is_array($body)) {
        $status['name'] = sanitize_text_field($body['name'] ?? '');
        $status['beacon_endpoint'] = esc_url_raw($body['beacon_endpoint'] ?? '');
        $status['contacted_at'] = time();
        $status['error'] = '';
    } else {
        $status['error'] = is_wp_error($answer) ? $answer->get_error_message()
            : sanitize_text_field($body['error'] ?? (string) wp_remote_retrieve_response_code($answer));
    }
    update_option(CARTBACK_STATUS, $status, true);
    return $status;
}

function cartback_refresh_if_connected() {
    $connection = cartback_connection();
    if ($connection) { cartback_refresh_status($connection); }
}

/*
 * Refreshed on activation, on every visit to WooCommerce → Cartback, and once
 * a day, so a store connected after the plugin was activated gets its beacon
 * without anyone opening the settings page.
 */
add_action('cartback_refresh', 'cartback_refresh_if_connected');
register_activation_hook(__FILE__, function () {
    cartback_refresh_if_connected();
    if (!wp_next_scheduled('cartback_refresh')) { wp_schedule_event(time(), 'daily', 'cartback_refresh'); }
});
register_deactivation_hook(__FILE__, function () { wp_clear_scheduled_hook('cartback_refresh'); });

/* --- the storefront beacon --------------------------------------------------------------- */

add_action('wp_enqueue_scripts', function () {
    $status = cartback_status();
    if (!cartback_settings()['beacon'] || empty($status['beacon_endpoint'])) { return; }
    wp_enqueue_script('cartback-beacon', $status['url'] . '/static/cartback-beacon.js', [], '1.2',
                      ['strategy' => 'defer']);
});
add_filter('script_loader_tag', function ($tag, $handle) {
    return $handle === 'cartback-beacon'
        ? str_replace(' src=', ' data-endpoint="' . esc_attr(cartback_status()['beacon_endpoint']) . '" src=', $tag)
        : $tag;
}, 10, 2);

/* --- WooCommerce → Cartback ---------------------------------------------------------------- */

add_action('admin_menu', function () {
    add_submenu_page('woocommerce', __('Cartback', 'cartback'), __('Cartback', 'cartback'),
                     'manage_woocommerce', 'cartback', 'cartback_settings_page');
});

add_filter('plugin_action_links_' . plugin_basename(__FILE__), function ($links) {
    $url = admin_url('admin.php?page=cartback');
    array_unshift($links, '<a href="' . esc_url($url) . '">' . esc_html__('Settings', 'cartback') . '</a>');
    return $links;
});

function cartback_back_to_settings($notice) {
    wp_safe_redirect(add_query_arg(['page' => 'cartback', 'cartback_notice' => $notice], admin_url('admin.php')));
    exit;
}

function cartback_require_manager() {
    if (!current_user_can('manage_woocommerce')) {
        wp_die(esc_html__('You are not allowed to manage Cartback on this store.', 'cartback'), '', ['response' => 403]);
    }
}

add_action('admin_post_cartback_save', function () {
    cartback_require_manager();
    check_admin_referer('cartback_save');
    $input = isset($_POST['cartback']) && is_array($_POST['cartback']) ? $_POST['cartback'] : [];
    update_option(CARTBACK_SETTINGS, cartback_sanitize_settings($input));
    cartback_back_to_settings('saved');
});

add_action('admin_post_cartback_open', function () {
    cartback_require_manager();
    check_admin_referer('cartback_open');
    $connection = cartback_connection();
    if (!$connection) { cartback_back_to_settings('not_connected'); }
    $host = wp_parse_url($connection['url'], PHP_URL_HOST);
    add_filter('allowed_redirect_hosts', function ($hosts) use ($host) { return array_merge($hosts, [$host]); });
    wp_safe_redirect(cartback_open_url($connection));
    exit;
});

function cartback_settings_page() {
    cartback_require_manager();
    $connection = cartback_connection();
    $status = $connection ? cartback_refresh_status($connection) : cartback_status();
    $settings = cartback_settings();
    $notice = isset($_GET['cartback_notice']) ? sanitize_key(wp_unslash($_GET['cartback_notice'])) : '';
    $post_url = admin_url('admin-post.php');
    echo '<div class="wrap"><h1>' . esc_html__('Cartback', 'cartback') . '</h1>';
    if ($notice === 'saved') {
        echo '<div class="notice notice-success"><p>' . esc_html__('Settings saved.', 'cartback') . '</p></div>';
    } elseif ($notice === 'not_connected') {
        echo '<div class="notice notice-error"><p>' . esc_html__('This store is not connected to Cartback yet.', 'cartback') . '</p></div>';
    }
    echo '<h2>' . esc_html__('Connection', 'cartback') . '</h2><table class="form-table" role="presentation">';
    if (!$connection) {
        echo '<tr><th scope="row">' . esc_html__('Status', 'cartback') . '</th><td>'
            . esc_html__('Not connected. Connect this store from your Cartback address (/woocommerce/connect), then come back here.', 'cartback')
            . '</td></tr>';
    } else {
        /* translators: %d: the store's number in Cartback */
        $store = !empty($status['name']) ? $status['name'] : sprintf(__('Store %d', 'cartback'), $connection['store']);
        $contact = !empty($status['contacted_at'])
            /* translators: %s: how long ago, e.g. "5 mins" */
            ? sprintf(__('%s ago', 'cartback'), human_time_diff((int) $status['contacted_at']))
            : __('never', 'cartback');
        $rows = [
            __('Connected store', 'cartback') => $store,
            __('Cartback address', 'cartback') => $connection['url'],
            __('Order webhooks', 'cartback') => wc_get_webhook_statuses()[$connection['webhook_status']] ?? $connection['webhook_status'],
            __('Last contact', 'cartback') => $contact,
        ];
        foreach ($rows as $label => $value) {
            echo '<tr><th scope="row">' . esc_html($label) . '</th><td>' . esc_html($value) . '</td></tr>';
        }
        if (!empty($status['error'])) {
            /* translators: %s: the reason Cartback or the network gave */
            echo '<tr><th scope="row">' . esc_html__('Problem', 'cartback') . '</th><td>'
                . esc_html(sprintf(__('Cartback did not answer as expected: %s', 'cartback'), $status['error'])) . '</td></tr>';
        }
    }
    echo '</table>';

    echo '<form method="post" action="' . esc_url($post_url) . '" target="_blank">';
    wp_nonce_field('cartback_open');
    echo '<input type="hidden" name="action" value="cartback_open">';
    submit_button(__('Open Cartback', 'cartback'), 'primary', 'submit', false, $connection ? [] : ['disabled' => 'disabled']);
    echo ' <span class="description">' . esc_html__('Signs you in to your Cartback dashboard in a new tab.', 'cartback') . '</span></form>';

    echo '<h2>' . esc_html__('Storefront', 'cartback') . '</h2>';
    echo '<form method="post" action="' . esc_url($post_url) . '">';
    wp_nonce_field('cartback_save');
    echo '<input type="hidden" name="action" value="cartback_save"><table class="form-table" role="presentation"><tr>'
        . '<th scope="row">' . esc_html__('Cart beacon', 'cartback') . '</th><td><label>'
        . '<input type="checkbox" name="cartback[beacon]" value="1"' . ($settings['beacon'] ? ' checked' : '') . '> '
        . esc_html__('Report carts to Cartback from the storefront, so carts left before checkout can be reminded', 'cartback')
        . '</label></td></tr></table>';
    submit_button(__('Save changes', 'cartback'));
    echo '</form></div>';
}

/*
 * Restore: a reminder's link for a storefront cart opens /?cartback_restore=<token>.
 * Ask Cartback (server to server) for the items, put them in this shopper's
 * cart on whatever device they are on, then show the cart. The token is the
 * only credential and names one cart; Cartback answers 404 for anything else.
 * Each item is found by SKU, else by its product link (variations by the
 * attribute_* arguments the link carries); items no longer sold are skipped.
 * A reminder that carried a recovery coupon still valid: the coupon is applied.
 */
function cartback_product_for($item) {
    $id = !empty($item['sku']) ? wc_get_product_id_by_sku($item['sku']) : 0;
    $attributes = [];
    if (!$id && !empty($item['product_url'])) {
        $id = url_to_postid($item['product_url']);
        parse_str((string) wp_parse_url($item['product_url'], PHP_URL_QUERY), $query);
        foreach ($query as $key => $value) {
            if (strpos($key, 'attribute_') === 0) { $attributes[$key] = wc_clean($value); }
        }
    }
    $product = $id ? wc_get_product($id) : null;
    if (!$product) { return null; }
    if ($product->is_type('variation')) {
        return [$product->get_parent_id(), $product->get_id(), $product->get_variation_attributes()];
    }
    if ($product->is_type('variable') && $attributes) {
        $variation = (new WC_Product_Data_Store_CPT())->find_matching_product_variation($product, $attributes);
        return $variation ? [$product->get_id(), $variation, $attributes] : null;
    }
    return [$product->get_id(), 0, []];
}

add_action('template_redirect', function () {
    if (empty($_GET['cartback_restore']) || !function_exists('WC') || !WC()->cart) { return; }
    $connection = cartback_connection();
    if (!$connection) { return; }
    $cartback_url = $connection['url'];
    $token = preg_replace('/[^A-Za-z0-9._-]/', '', wp_unslash($_GET['cartback_restore']));
    $answer = wp_remote_get($cartback_url . '/restore/' . rawurlencode($token), ['timeout' => 5]);
    $cart = wp_remote_retrieve_response_code($answer) === 200
        ? json_decode(wp_remote_retrieve_body($answer), true) : null;
    $target = wc_get_cart_url();
    if (is_array($cart) && !empty($cart['items'])) {
        WC()->cart->empty_cart();
        foreach ($cart['items'] as $item) {
            $found = cartback_product_for($item);
            $quantity = max(1, (int) ceil((float) ($item['quantity'] ?? 1)));
            if ($found) { WC()->cart->add_to_cart($found[0], $quantity, $found[1], $found[2]); }
        }
        // The beacon on the cart page keeps reporting under the original cart, so
        // one shopper on two devices stays one Cartback cart.
        if (!empty($cart['cart_token'])) {
            $target = add_query_arg('cartback_token', rawurlencode($cart['cart_token']), $target);
        }
        // The reminder's recovery coupon, applied to the rebuilt cart (core has no
        // apply-coupon URL). Its email restriction is checked at checkout.
        if (!empty($cart['coupon']) && is_string($cart['coupon'])) {
            $coupon = wc_format_coupon_code($cart['coupon']);
            if (!WC()->cart->has_discount($coupon)) { WC()->cart->apply_coupon($coupon); }
        }
    }
    wp_safe_redirect($target);
    exit;
});
